using QuantTune.Models.Config;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// Rotary position embedding (RoPE). The inverse frequencies θ^(-2i/d) are computed in fp32 as
/// transformers does, optionally rescaled (linear, llama3, YaRN with its attention factor, or LongRoPE's short or long factors and
/// attention factor); <see cref="CosSin"/> gives the
/// tables for a run of positions and <see cref="Apply"/> rotates queries and keys.
/// </summary>
public sealed class RotaryEmbedding : IDisposable
{
    readonly Tensor _invFreq; // [rotaryDim / 2], fp32
    readonly double _positionScale;
    readonly double _attentionFactor;

    /// <param name="rotaryDim">the dimensions of each head that rotate (the head size, or less with a partial rotary factor)</param>
    /// <param name="longFactors">LongRoPE: the tables past the original context (<see cref="RopeConfig.LongFactor"/>); else the short ones</param>
    public RotaryEmbedding(RopeConfig rope, int rotaryDim, Device device, bool longFactors = false)
    {
        using var scope = NewDisposeScope();
        var exponent = PinnedScalarMath.Arange(0, rotaryDim, 2, ScalarType.Int64).to_type(ScalarType.Float32).DividedBy(rotaryDim);
        var basePowers = pow(rope.Theta, exponent);
        _positionScale = 1.0;
        _attentionFactor = rope.AttentionFactor;
        if (rope.Type == "longrope")
        {
            // transformers: 1 / (ext_factors · base^(2i/d)), ext the short or the long list
            var ext = tensor((longFactors ? rope.LongFactor! : rope.ShortFactor!).Select(f => (float)f).ToArray());
            basePowers = ext * basePowers;
        }
        var invFreq = basePowers.Dividing(1.0);
        if (rope.Type == "proportional") invFreq = Proportional(rope, rotaryDim);
        if (rope.Type == "yarn") invFreq = tensor(Yarn.InverseFrequencies(rope, rotaryDim));
        if (rope.Type == "linear") _positionScale = 1.0 / rope.Factor;
        else if (rope.Type == "llama3") invFreq = Llama3Scale(invFreq, rope);
        _invFreq = invFreq.to(device).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Gemma 4's proportional RoPE (transformers' _compute_proportional_rope_parameters): floor(fraction · d / 2) pairs at
    /// 1 / base^(2i/d), the other pairs at frequency 0 (cos 1, sin 0: unrotated), all divided by the factor.
    /// </summary>
    static Tensor Proportional(RopeConfig rope, int headDim)
    {
        int angles = (int)Math.Floor(rope.RotatedFraction * headDim / 2);
        var exponent = PinnedScalarMath.Arange(0, 2 * angles, 2, ScalarType.Int64).to_type(ScalarType.Float32).DividedBy(headDim);
        var rotated = pow(rope.Theta, exponent).Dividing(1.0);
        var still = zeros([headDim / 2 - angles], ScalarType.Float32);
        return cat([rotated, still], 0).DividedBy(rope.Factor);
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
        var cos = emb.cos();
        var sin = emb.sin();
        if (_attentionFactor != 1.0)
        {
            cos = cos.Times(_attentionFactor);
            sin = sin.Times(_attentionFactor);
        }
        cos = cos.to_type(dtype);
        sin = sin.to_type(dtype);
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// x · cos + rotate_half(x) · sin for x of shape [B, H, T, D]. Where the tables are narrower than
    /// the head (a partial rotary factor), only the first dimensions rotate and the rest pass as they are.
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        long rotary = cos.shape[^1], dim = x.shape[^1];
        if (rotary == dim) return Rotate(x, cos, sin);
        using var scope = NewDisposeScope();
        var rotated = Rotate(x.narrow(-1, 0, rotary), cos, sin);
        return cat([rotated, x.narrow(-1, rotary, dim - rotary)], -1).MoveToOuterDisposeScope();
    }

    static Tensor Rotate(Tensor x, Tensor cos, Tensor sin)
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
