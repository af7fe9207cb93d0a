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

    /// <summary>
    /// Generation for a model given only as ids → logits (a QST model, a prompt-tuned wrapper):
    /// no KV cache, the whole sequence is run again at every step.
    /// </summary>
    public static IEnumerable<int> Generate(Func<Tensor, Tensor> logitsOf, Device device, IReadOnlyCollection<int> stop, IReadOnlyList<int> promptIds, SamplingOptions options)
    {
        if (promptIds.Count == 0) throw new Diagnostics.QuantTuneException("the prompt is empty; generation needs at least one token");
        using var sampler = new Sampler(options);
        using var _ = no_grad();
        var sequence = promptIds.Select(i => (long)i).ToList();
        for (int step = 0; step < options.MaxNewTokens; step++)
        {
            int next;
            using (var scope = NewDisposeScope())
            {
                var ids = tensor(sequence.ToArray(), [1, sequence.Count], ScalarType.Int64, device);
                next = sampler.Next(logitsOf(ids)[0, -1]);
            }
            yield return next;
            if ((options.StopTokens ?? stop).Contains(next)) yield break;
            sequence.Add(next);
        }
    }
}
