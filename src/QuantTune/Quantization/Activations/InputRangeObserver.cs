using QuantTune.Models.Layers;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Activations;

/// <summary>
/// Wraps a linear layer during calibration and records the largest |input| it sees, and a
/// sample of |input| values for percentile calibration; the output is the layer's own.
/// </summary>
public sealed class InputRangeObserver : nn.Module<Tensor, Tensor>
{
    const int SamplePerCall = 4096;
    readonly List<float> _sample = new();
    readonly Random _random = new(0);

    public readonly Linear inner;
    public float MaxAbs { get; private set; }

    public InputRangeObserver(Linear inner) : base(nameof(InputRangeObserver))
    {
        this.inner = inner;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using (var scope = NewDisposeScope())
        {
            var abs = input.detach().abs().flatten().to_type(ScalarType.Float32);
            MaxAbs = Math.Max(MaxAbs, abs.max().item<float>());
            var picks = tensor(Enumerable.Range(0, SamplePerCall).Select(_ => (long)_random.NextInt64(abs.numel())).ToArray());
            _sample.AddRange(abs.index_select(0, picks).data<float>().ToArray());
        }
        return inner.forward(input);
    }

    /// <summary>The p-th percentile (0–100) of the sampled |input| values.</summary>
    public float Percentile(double p)
    {
        if (_sample.Count == 0) return MaxAbs;
        var sorted = _sample.Order().ToArray();
        return sorted[(int)Math.Clamp(Math.Round(p / 100 * (sorted.Length - 1)), 0, sorted.Length - 1)];
    }
}
