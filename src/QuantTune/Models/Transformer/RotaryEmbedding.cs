using QuantTune.Models.Config;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// Rotary position embedding (RoPE). The inverse frequencies θ^(-2i/d) are computed in fp32 as
/// transformers does, optionally rescaled (linear or llama3); <see cref="CosSin"/> gives the
/// tables for a run of positions and <see cref="Apply"/> rotates queries and keys.
/// </summary>
public sealed class RotaryEmbedding : IDisposable
{
    readonly Tensor _invFreq; // [headDim / 2], fp32
    readonly double _positionScale;

    public RotaryEmbedding(RopeConfig rope, int headDim, Device device)
    {
        using var scope = NewDisposeScope();
        var exponent = PinnedScalarMath.Arange(0, headDim, 2, ScalarType.Int64).to_type(ScalarType.Float32).DividedBy(headDim);
        var invFreq = pow(rope.Theta, exponent).Dividing(1.0);
        _positionScale = 1.0;
        if (rope.Type == "linear") _positionScale = 1.0 / rope.Factor;
        else if (rope.Type == "llama3") invFreq = Llama3Scale(invFreq, rope);
        _invFreq = invFreq.to(device).MoveToOuterDisposeScope();
    }

    /// <summary>Llama 3.1's rescaling: long wavelengths divided by the factor, short ones kept, a smooth blend between.</summary>
    static Tensor Llama3Scale(Tensor invFreq, RopeConfig rope)
    {
        double lowWavelen = rope.OriginalMaxPositionEmbeddings / rope.LowFreqFactor;
        double highWavelen = rope.OriginalMaxPositionEmbeddings / rope.HighFreqFactor;
        var wavelen = invFreq.Dividing(2 * Math.PI);
        var scaled = where(wavelen.GreaterThan(lowWavelen), invFreq.DividedBy(rope.Factor), invFreq);
        var smooth = wavelen.Dividing(rope.OriginalMaxPositionEmbeddings).Minus(rope.LowFreqFactor).DividedBy(rope.HighFreqFactor - rope.LowFreqFactor);
        var smoothed = (smooth.SubtractedFrom(1) * scaled).DividedBy(rope.Factor).Plus(smooth * scaled);
        var isMedium = wavelen.AtLeast(highWavelen).logical_and(wavelen.AtMost(lowWavelen));
        return where(isMedium, smoothed, scaled);
    }

    /// <summary>cos and sin tables [T, headDim] for positions start..start+T-1, in <paramref name="dtype"/>.</summary>
    public (Tensor Cos, Tensor Sin) CosSin(long start, long length, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var positions = PinnedScalarMath.Arange(start, start + length, ScalarType.Int64, _invFreq.device).to_type(ScalarType.Float32).Times(_positionScale);
        var freqs = positions.unsqueeze(1).matmul(_invFreq.unsqueeze(0));
        var emb = cat([freqs, freqs], -1);
        var cos = emb.cos().to_type(dtype);
        var sin = emb.sin().to_type(dtype);
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>x · cos + rotate_half(x) · sin for x of shape [B, H, T, D].</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        var rotated = cat([-x2, x1], -1);
        return (x * cos).Plus(rotated * sin).MoveToOuterDisposeScope();
    }

    public void Dispose() => _invFreq.Dispose();
}
