using QuantTune.Models.Transformer;
using static TorchSharp.torch;

namespace QuantTune.Generation;

/// <summary>
/// Autoregressive generation with a KV cache: the prompt is run once, then one token per step.
/// Yields each new token id as it is produced.
/// </summary>
public static class TextGenerator
{
    public static IEnumerable<int> Generate(CausalLM model, IReadOnlyList<int> promptIds, SamplingOptions options)
    {
        if (promptIds.Count == 0) throw new Diagnostics.QuantTuneException("the prompt is empty; generation needs at least one token");
        var stop = options.StopTokens ?? model.Config.EosTokenIds;
        using var sampler = new Sampler(options);
        using var cache = new KvCache(model.Config.NumLayers);
        using var _ = inference_mode();
        var input = promptIds.Select(i => (long)i).ToArray();
        for (int step = 0; step < options.MaxNewTokens; step++)
        {
            int next;
            using (var scope = NewDisposeScope())
            {
                var ids = tensor(input, [1, input.Length], ScalarType.Int64, model.Device);
                var logits = model.Forward(ids, cache);
                next = sampler.Next(logits[0, -1]);
            }
            yield return next;
            if (stop.Contains(next)) yield break;
            input = [next];
        }
    }
}
