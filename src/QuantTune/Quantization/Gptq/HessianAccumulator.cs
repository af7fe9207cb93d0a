using QuantTune.Diagnostics;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Gptq;

/// <summary>
/// H = 2/n · Σ x xᵀ over the n calibration tokens a linear layer sees, kept as a running average
/// (gptq.py add_batch): each batch rescales H by n/(n + m) and adds 2/(n + m) · XᵀX. Float32
/// [in, in] on the inputs' device.
/// </summary>
public sealed class HessianAccumulator : IDisposable
{
    public HessianAccumulator(long features, Device? device = null)
    {
        Features = features;
        Hessian = zeros([features, features], ScalarType.Float32, device);
    }

    public long Features { get; }

    /// <summary>The running H; owned by this accumulator.</summary>
    public Tensor Hessian { get; }

    /// <summary>Tokens seen so far.</summary>
    public long Tokens { get; private set; }

    /// <summary>Adds inputs [..., in] (any leading shape, any float dtype, any device): every row is one token.</summary>
    public void Add(Tensor input)
    {
        if (input.dim() == 0 || input.shape[^1] != Features)
            throw new QuantTuneException($"GPTQ Hessian: inputs [{string.Join(", ", input.shape)}]; expected [..., {Features}] (the layer's input features)");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var x = input.detach().reshape(-1, Features).to(ScalarType.Float32, Hessian.device);
        long m = x.shape[0];
        if (m == 0) return;
        Hessian.TimesInPlace((double)Tokens / (Tokens + m));
        Tokens += m;
        x = x.Times(Math.Sqrt(2.0 / Tokens));
        Hessian.PlusInPlace(x.t().matmul(x));
    }

    public void Dispose() => Hessian.Dispose();
}
