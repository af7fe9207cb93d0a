using System.Diagnostics;
using QuantTune.Generation;
using QuantTune.Models.Loading;
using QuantTune.Quantization.Models;
using QuantTune.SideTuning;

namespace QuantTune.Bench;

/// <summary>
/// Decode speed of <see cref="TextGenerator"/>: tokens per second after the prompt pass (the
/// clock starts when the first new token is out), the median of several runs, for tiny-llama in
/// fp32, its NF4 + double-quantization backbone, and QST on that backbone (rerunning the
/// sequence, as before incremental QST decoding, and with its two KV caches).
/// </summary>
public static class GenerationBenchmark
{
    /// <param name="text">the prompt is the first <paramref name="promptTokens"/> tokens of this file</param>
    public static object Run(string modelDir, string text, int promptTokens, int newTokens, int repeats)
    {
        var rows = new List<object>();
        var options = new SamplingOptions { MaxNewTokens = newTokens, StopTokens = [] };
        var sampled = options with { Temperature = 0.8, TopK = 40, TopP = 0.95, Seed = 1 };
        using (var pm = PretrainedModel.Load(modelDir))
        {
            var prompt = pm.Tokenizer.Encode(File.ReadAllText(text)).Take(promptTokens).ToList();
            rows.Add(Row("tiny-llama fp32", "kv-cache, greedy", prompt.Count, newTokens, repeats, () => TextGenerator.Generate(pm.Model, prompt, options)));
            rows.Add(Row("tiny-llama fp32", "kv-cache, sampled (T 0.8, top-k 40, top-p 0.95)", prompt.Count, newTokens, repeats, () => TextGenerator.Generate(pm.Model, prompt, sampled)));
            ModelQuantizer.QuantizeNf4DoubleQuant(pm.Model);
            rows.Add(Row("tiny-llama NF4+DQ (the QST backbone)", "kv-cache, greedy", prompt.Count, newTokens, repeats, () => TextGenerator.Generate(pm.Model, prompt, options)));
            using var qst = new QstModel(pm.Model, new QstConfig(), seed: 0);
            qst.eval();
            rows.Add(Row("QST (tiny-llama NF4+DQ, r 16)", "full sequence every step, greedy", prompt.Count, newTokens, repeats,
                () => TextGenerator.Generate(ids => qst.Forward(ids), pm.Model.Device, pm.Config.EosTokenIds, prompt, options)));
            rows.Add(Row("QST (tiny-llama NF4+DQ, r 16)", "backbone + side kv-caches, greedy", prompt.Count, newTokens, repeats,
                () => TextGenerator.Generate(() => new QstDecoding(qst), pm.Model.Device, pm.Config.EosTokenIds, prompt, options)));
        }
        return new { prompt = $"the first {promptTokens} tokens of {Path.GetFileName(text)}", new_tokens = newTokens, repeats, rows };
    }

    /// <summary>Runs the generation twice to warm up, then <paramref name="repeats"/> times, timing from the first token to the last.</summary>
    static object Row(string model, string path, int promptTokens, int newTokens, int repeats, Func<IEnumerable<int>> generate)
    {
        Console.Error.WriteLine($"generation: {model}, {path}...");
        var loadBefore = LoadAverage();
        var perSecond = new List<double>();
        var prompts = new List<double>();
        const int warmUps = 2; // the first runs also wait for the JIT's optimised code
        for (int run = 0; run < warmUps + repeats; run++)
        {
            var sw = Stopwatch.StartNew();
            double first = 0;
            int count = 0;
            foreach (var _ in generate())
            {
                if (count++ == 0) first = sw.Elapsed.TotalSeconds;
            }
            double decode = sw.Elapsed.TotalSeconds - first;
            if (run < warmUps) continue;
            perSecond.Add((count - 1) / decode);
            prompts.Add(first);
        }
        perSecond.Sort();
        prompts.Sort();
        return new
        {
            model, path, prompt_tokens = promptTokens, new_tokens = newTokens,
            decode_tokens_per_s = Math.Round(perSecond[perSecond.Count / 2], 1),
            decode_ms_per_token = Math.Round(1000 / perSecond[perSecond.Count / 2], 2),
            prompt_pass_and_first_token_ms = Math.Round(prompts[prompts.Count / 2] * 1000, 2),
            slowest_run_tokens_per_s = Math.Round(perSecond[0], 1), fastest_run_tokens_per_s = Math.Round(perSecond[^1], 1),
            load_average_before = loadBefore, load_average_after = LoadAverage(),
        };
    }

    /// <summary>The 1-minute load average: on a shared machine, other processes' load decides how often libtorch's intra-op threads wait for a core.</summary>
    static double? LoadAverage()
    {
        try { return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture); }
        catch (IOException) { return null; }
    }
}
