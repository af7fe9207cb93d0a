using QuantTune.Models.Transformer;
using static TorchSharp.torch;

namespace QuantTune.Generation;

/// <summary>
/// Autoregressive generation with a KV cache: the prompt is run once, then one token per step.
/// Yields each new token id as it is produced.
/// </summary>
public static class TextGenerator
{
    public static IEnumerable<int> Generate(CausalLM model, IReadOnlyList<int> promptIds, SamplingOptions options) =>
        Generate(() => new KvCacheDecoding(model), model.Device, model.Config.EosTokenIds, promptIds, options);

    /// <summary>
    /// Generation through an incremental decoder (a causal LM's <see cref="KvCacheDecoding"/>, a
    /// QST model's <c>QstDecoding</c>): <paramref name="start"/> opens the session, which is fed
    /// the prompt once and then each new token alone.
    /// </summary>
    public static IEnumerable<int> Generate(Func<IDecodingSession> start, Device device, IReadOnlyCollection<int> stop, IReadOnlyList<int> promptIds, SamplingOptions options)
    {
        if (promptIds.Count == 0) throw new Diagnostics.QuantTuneException("the prompt is empty; generation needs at least one token");
        stop = options.StopTokens ?? stop;
        using var sampler = new Sampler(options);
        using var session = start();
        using var _ = inference_mode();
        var input = promptIds.Select(i => (long)i).ToArray();
        for (int step = 0; step < options.MaxNewTokens; step++)
        {
            int next;
            using (var scope = NewDisposeScope())
            {
                var ids = tensor(input, [1, input.Length], ScalarType.Int64, device);
                next = sampler.Next(session.NextLogits(ids)[0]);
            }
            yield return next;
            if (stop.Contains(next)) yield break;
            input = [next];
        }
    }

    /// <summary>
    /// Generation for a model given only as ids → logits (a prompt-tuned wrapper, whose learned
    /// prompt is prepended to every forward pass): no KV cache, the whole sequence is run again at
    /// every step. A model with caches uses the <see cref="IDecodingSession"/> overload.
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
