using System.CommandLine;
using QuantTune.Cli.Rendering;
using QuantTune.Diagnostics;
using QuantTune.Evaluation;
using QuantTune.Evaluation.MultipleChoice;
using QuantTune.Models.Loading;
using Spectre.Console;

namespace QuantTune.Cli.Commands;

public static class EvalCommand
{
    public static Command Create()
    {
        var modelOptions = new ModelOptions();
        var data = new Option<string>("--data", "-d") { Description = "UTF-8 text file to score", Required = true };
        var window = new Option<int>("--window") { Description = "tokens per window", DefaultValueFactory = _ => 256 };
        var stride = new Option<int>("--stride") { Description = "tokens between window starts (default: the window, i.e. no overlap)", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch") { Description = "windows per forward pass", DefaultValueFactory = _ => 4 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "score only the first N tokens (0: all)", DefaultValueFactory = _ => 0 };
        var bos = new Option<bool>("--bos") { Description = "add the tokenizer's special tokens before the text" };
        var json = Options.Json();
        var perplexity = modelOptions.AddTo(new Command("perplexity", "Perplexity of a model over a text file with a sliding window.")
            { data, window, stride, batch, maxTokens, bos, json });
        perplexity.SetAction(r =>
        {
            using var session = modelOptions.Open(r);
            var pm = session.Pretrained;
            var result = Perplexity(pm, r.GetValue(data)!, r.GetValue(window), r.GetValue(stride), r.GetValue(batch),
                r.GetValue(maxTokens), r.GetValue(bos), CliHost.Interactive(r.GetValue(json)), session.Forward);
            if (r.GetValue(json)) JsonOutput.Write(ToJson(result, pm));
            else Render(result);
            return 0;
        });
        return new Command("eval", "Evaluate a model.") { perplexity, Mmlu() };
    }

    static Command Mmlu()
    {
        var modelOptions = new ModelOptions();
        var data = new Option<string?>("--data", "-d") { Description = "MMLU CSV file or folder (default: the embedded test subjects)" };
        var dev = new Option<string?>("--dev") { Description = "folder of solved examples for few-shot prompts (default: the embedded dev set)" };
        var shots = new Option<int>("--shots") { Description = "solved dev examples of the same subject per prompt: 5 as in the published protocol (Hendrycks et al.), 0 for zero-shot", DefaultValueFactory = _ => 5 };
        var limit = new Option<int>("--limit") { Description = "evaluate at most N questions per subject (0: all)", DefaultValueFactory = _ => 0 };
        var subjects = new Option<string?>("--subjects") { Description = "comma-separated subjects to evaluate (file names without _test.csv, e.g. abstract_algebra,marketing; default: all)" };
        var json = Options.Json();
        var cmd = modelOptions.AddTo(new Command("mmlu", "MMLU-style multiple choice: the log-likelihood of each answer letter.") { data, dev, shots, limit, subjects, json });
        cmd.SetAction(r =>
        {
            var questions = QuantTune.Evaluation.MultipleChoice.MmluEvaluator.Select(
                QuantTune.Evaluation.MultipleChoice.MmluQuestion.Load(r.GetValue(data) ?? Path.Combine(Assets.Root, "data", "mmlu", "test")),
                r.GetValue(subjects)?.Split(','), r.GetValue(limit));
            var devSet = r.GetValue(shots) > 0 ? QuantTune.Evaluation.MultipleChoice.MmluQuestion.Load(r.GetValue(dev) ?? Path.Combine(Assets.Root, "data", "mmlu", "dev")) : null;
            using var session = modelOptions.Open(r);
            var pm = session.Pretrained;
            var result = ProgressDisplay.Run($"mmlu ({questions.Count} questions)", CliHost.Interactive(r.GetValue(json)),
                p => QuantTune.Evaluation.MultipleChoice.MmluEvaluator.Evaluate(session.Forward ?? (x => pm.Model.Forward(x)), pm.Model.Device, pm.Tokenizer,
                    questions, devSet, r.GetValue(shots), progress: p, cancel: CliHost.Cancellation));
            if (r.GetValue(json))
                JsonOutput.Write(new { accuracy = result.Accuracy, correct = result.Correct, total = result.Total, shots = result.Shots, chance = MmluResult.Chance,
                    subjects = result.BySubject.ToDictionary(kv => kv.Key, kv => new { correct = kv.Value.Correct, total = kv.Value.Total }),
                    predicted_letters = Letters(result.Predicted), answer_letters = Letters(result.Answers) });
            else RenderMmlu(result);
            return 0;
        });
        return cmd;
    }

    static Dictionary<string, int> Letters(IReadOnlyList<int> counts) =>
        QuantTune.Evaluation.MultipleChoice.MmluQuestion.Letters.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => counts[x.i]);

    static void RenderMmlu(MmluResult result)
    {
        var rows = result.BySubject.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => (IReadOnlyList<string>)[kv.Key, $"{100.0 * kv.Value.Correct / kv.Value.Total:F1} %", $"{kv.Value.Total}"]).ToList();
        rows.Add(["all", $"{100 * result.Accuracy:F1} %", $"{result.Total}"]);
        PlainTable.Write(["subject", "accuracy", "questions"], rows);
        string Share(IReadOnlyList<int> counts) => string.Join("  ", QuantTune.Evaluation.MultipleChoice.MmluQuestion.Letters.Select((l, i) =>
            $"{l} {100.0 * counts[i] / Math.Max(1, result.Total):F0} %"));
        Console.WriteLine($"{result.Shots}-shot; chance is {100 * MmluResult.Chance:F0} %");
        Console.WriteLine($"predicted letters: {Share(result.Predicted)}");
        Console.WriteLine($"right answers:     {Share(result.Answers)}");
    }

    public static PerplexityResult Perplexity(PretrainedModel pm, string dataFile, int window, int stride, int batch, int maxTokens, bool bos, bool interactive,
        Func<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>? forward = null)
    {
        if (!File.Exists(dataFile)) throw new QuantTuneException($"{dataFile}: data file not found");
        if (window > pm.Config.MaxPositionEmbeddings)
            throw new QuantTuneException($"--window {window}: longer than the model's context ({pm.Config.MaxPositionEmbeddings} tokens, max_position_embeddings in its config.json)");
        var text = File.ReadAllText(dataFile);
        var ids = pm.Tokenizer.Encode(text, bos);
        if (maxTokens > 0 && ids.Count > maxTokens) ids = ids.Take(maxTokens).ToList();
        return ProgressDisplay.Run($"perplexity ({ids.Count:N0} tokens)", interactive,
            p => PerplexityEvaluator.Evaluate(forward ?? (x => pm.Model.Forward(x)), pm.Model.Device, ids, window, stride, batch, p, CliHost.Cancellation));
    }

    public static object ToJson(PerplexityResult r, PretrainedModel pm) => new
    {
        model = pm.Directory,
        perplexity = r.Perplexity,
        mean_nll = r.MeanNll,
        predicted_tokens = r.PredictedTokens,
        windows = r.Windows,
        window = r.Window,
        stride = r.Stride,
        seconds = r.Elapsed.TotalSeconds,
        tokens_per_second = r.TokensPerSecond,
    };

    public static void Render(PerplexityResult r)
    {
        var table = new Table().AddColumns("perplexity", "mean NLL", "tokens", "windows", "tokens/s", "time");
        table.AddRow($"{r.Perplexity:F4}", $"{r.MeanNll:F5}", $"{r.PredictedTokens:N0}", $"{r.Windows} × {r.Window} (stride {r.Stride})",
            $"{r.TokensPerSecond:N0}", $"{r.Elapsed.TotalSeconds:F1} s");
        AnsiConsole.Write(table);
    }
}
