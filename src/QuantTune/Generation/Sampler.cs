using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Generation;

/// <summary>Picks the next token from a row of logits: greedy, temperature, top-k and top-p.</summary>
public sealed class Sampler : IDisposable
{
    readonly SamplingOptions _options;
    readonly Generator _generator;

    public Sampler(SamplingOptions options)
    {
        options.Validate();
        _options = options;
        _generator = new Generator((ulong)options.Seed);
    }

    /// <param name="logits">[vocab] logits of the last position</param>
    public int Next(Tensor logits)
    {
        using var scope = NewDisposeScope();
        var l = logits.to_type(ScalarType.Float32).cpu();
        if (_options.Greedy) return (int)l.argmax().item<long>();
        l = l.DividedBy(_options.Temperature);
        if (_options.TopK > 0 && _options.TopK < l.shape[0])
        {
            var kth = l.topk(_options.TopK).values[-1];
            l = l.MaskedFill(l < kth, double.NegativeInfinity);
        }
        if (_options.TopP < 1.0)
        {
            var (sorted, order) = l.sort(descending: true);
            var cumulative = sorted.softmax(-1).cumsum(-1);
            // Drop a token when the tokens ranked above it already reach top-p (the first always stays).
            var drop = (cumulative - sorted.softmax(-1)).AtLeast(_options.TopP);
            var dropInOriginalOrder = zeros_like(drop).scatter(0, order, drop);
            l = l.MaskedFill(dropInOriginalOrder, double.NegativeInfinity);
        }
        var probabilities = l.softmax(-1);
        return (int)probabilities.multinomial(1, generator: _generator).item<long>();
    }

    public void Dispose() => _generator.Dispose();
}
