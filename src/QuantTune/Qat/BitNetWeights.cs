using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Qat;

/// <summary>
/// The weight quantizers of BitNet (docs/design.md §7), without gradients: the layers wrap them in
/// the STE, <see cref="TernaryPacked"/> stores their codes.
/// </summary>
public static class BitNetWeights
{
    /// <summary>Keeps γ and β away from zero for an all-zero weight.</summary>
    public const double Epsilon = 1e-8;

    /// <summary>
    /// BitNet b1.58 absmean: γ = mean|W|, codes round(clamp(W/γ, −1, 1)) ∈ {−1, 0, 1}.
    /// Returns the codes (same dtype as W) and γ as a 0-d tensor; W_q = codes·γ.
    /// </summary>
    public static (Tensor Codes, Tensor Gamma) Ternary(Tensor w)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var gamma = w.abs().mean().ClampedMin(Epsilon);
        var codes = (w / gamma).Clamped(-1, 1).round();
        return (codes.MoveToOuterDisposeScope(), gamma.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// BitNet 1-bit: codes sign(W − mean W) with 0 sent to −1 (the paper's Sign, so every weight is
    /// ±1), β = mean|W|. Returns the codes and β as a 0-d tensor; W_q = codes·β.
    /// </summary>
    public static (Tensor Codes, Tensor Beta) Binary(Tensor w)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var beta = w.abs().mean().ClampedMin(Epsilon);
        var centred = w - w.mean();
        var codes = where(centred.GreaterThan(0), ones_like(w), -ones_like(w));
        return (codes.MoveToOuterDisposeScope(), beta.MoveToOuterDisposeScope());
    }
}
