using QuantTune.Evaluation;
using QuantTune.Models.Loading;
using static TorchSharp.torch;

namespace QuantTune.Bench;

/// <summary>CPU tokens/s of perplexity evaluation (256-token windows, batches of 4) in fp32 and bf16.</summary>
public static class PerplexityBenchmark
{
    public static object Run(string model, string text, int tokens)
    {
        var results = new List<object>();
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            using var pm = PretrainedModel.Load(model, dtype);
            var ids = pm.Tokenizer.Encode(File.ReadAllText(text)).Take(tokens + 1).ToList();
            PerplexityEvaluator.Evaluate(pm.Model, ids.Take(1025).ToList()); // warm-up
            var r = PerplexityEvaluator.Evaluate(pm.Model, ids);
            results.Add(new
            {
                dtype = QuantTune.Runtime.TorchRuntime.Name(dtype),
                tokens = r.PredictedTokens,
                seconds = Math.Round(r.Elapsed.TotalSeconds, 2),
                tokens_per_second = Math.Round(r.TokensPerSecond),
                perplexity = Math.Round(r.Perplexity, 4),
            });
        }
        return results;
    }
}
