using QuantTune.Training.Data;
using QuantTune.Training.FineTuning;

namespace QuantTune.Cli.Commands;

/// <summary>What <c>finetune --help</c> says about its data: the formats, the exact Alpaca prompt, where the loss is, how the held-out part is made.</summary>
public static class DataHelp
{
    public static string Data =>
        "training data: .txt (plain text, loss on every token), .json/.jsonl (Alpaca instructions, or {\"text\": ...} records read as plain text), "
        + ".tsv (labelled sentences). Unless --eval-data is given, the held-out part is split off the end, in file order: "
        + ""
        + $"the last {FineTuneRequest.DefaultEvalFraction * 100:0} % of a text's tokens, or of the records (at least one); at most {FineTuneRequest.DefaultMaxEvalExamples} held-out examples are evaluated";

    public static string Format =>
        "text, alpaca or tsv (default: from the extension; .json/.jsonl records with a \"text\" field and no \"instruction\" are text). "
        + "alpaca: each {\"instruction\", \"input\", \"output\"} record becomes the prompt "
        + $"\"{Escape(PromptTemplate.Alpaca.WithoutInput)}\" (with a non-empty input: \"{Escape(PromptTemplate.Alpaca.WithInput)}\"), "
        + "after BOS, followed by the output and EOS; only the output and EOS tokens carry the loss, and a record whose prompt is longer than --seq is dropped (and reported). "
        + "text on .json/.jsonl: each record's \"text\" as BOS + text + EOS, cut into --seq windows like a .txt, loss on every token";

    public const string Seq = "tokens per example: the window length of plain text; for alpaca and tsv the most, a longer output is cut and a longer prompt dropped";

    public const string EvalData = "held-out data in a file of its own (same formats as --data; all of --data then trains) instead of a split of --data";

    /// <summary>The template as one line, its newlines written \n.</summary>
    static string Escape(string template) => template.Replace("\n", "\\n", StringComparison.Ordinal);
}
