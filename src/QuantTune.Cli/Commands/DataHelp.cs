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
        "text, alpaca, chat or tsv (default: from the extension; .json/.jsonl records with \"messages\" or \"conversations\" are chat, with a \"text\" field and no \"instruction\" text). "
        + "alpaca: each {\"instruction\", \"input\", \"output\"} record becomes the prompt "
        + $"\"{Escape(PromptTemplate.Alpaca.WithoutInput)}\" (with a non-empty input: \"{Escape(PromptTemplate.Alpaca.WithInput)}\"), "
        + "after BOS, followed by the output and EOS; only the output and EOS tokens carry the loss, and a record whose prompt is longer than --seq is dropped (and reported). "
        + "chat: {\"messages\": [{\"role\", \"content\"}]} or ShareGPT {\"conversations\": [{\"from\", \"value\"}]} records rendered with the model's chat template (see --chat-template); "
        + "the loss is on the assistant turns only (--loss-on-all: every token); a conversation longer than --seq is dropped (--truncate: cut), and reported; --pack puts several in one example. "
        + "text on .json/.jsonl: each record's \"text\" as BOS + text + EOS, cut into --seq windows like a .txt, loss on every token";

    public const string Seq = "tokens per example: the window length of plain text; for alpaca and tsv the most, a longer output is cut and a longer prompt dropped";

    public const string ChatTemplate = "chat data: the chat template, a .jinja file, a JSON file with \"chat_template\", a template name of the model, or a built-in one (zephyr, chatml); "
        + "default: the model's own (chat_template.jinja, tokenizer_config.json), else zephyr, which the run names";

    public const string EvalData = "held-out data in a file of its own (same formats as --data; all of --data then trains) instead of a split of --data";

    /// <summary>The template as one line, its newlines written \n.</summary>
    static string Escape(string template) => template.Replace("\n", "\\n", StringComparison.Ordinal);
}
