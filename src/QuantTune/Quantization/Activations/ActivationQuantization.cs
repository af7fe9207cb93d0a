using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Activations;

/// <summary>How a linear layer's input is quantized to 8 bits (symmetric absmax, codes in [-127, 127]).</summary>
public enum ActivationMode
{
    /// <summary>A scale per token computed at run time: 127 / max|x_token|.</summary>
    Dynamic,
    /// <summary>One scale per layer fixed from a calibration set: 127 / α, inputs beyond ±α clipped.</summary>
    Static,
}

public static class ActivationQuantization
{
    /// <summary>
    /// Fake-quantizes x: round(x·s) clamped to ±127, divided by s — the values an int8 × int8
    /// matmul with fp32 rescaling computes with. <paramref name="alpha"/> null: per-token scales.
    /// </summary>
    public static Tensor FakeQuantize(Tensor x, float? alpha)
    {
        using var scope = NewDisposeScope();
        Tensor scale;
        if (alpha is float a) scale = tensor(127f / Math.Max(a, 1e-12f), x.dtype, x.device);
        else scale = x.abs().amax([-1], keepdim: true).ClampedMin(1e-12f).Dividing(127f);
        return ((x * scale).round().Clamped(-127, 127) / scale).MoveToOuterDisposeScope();
    }
}
