using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Training.Alignment;

/// <summary>The pieces the objectives share (their arithmetic with numbers through <see cref="PinnedScalarMath"/>, as the trainer's).</summary>
internal static class PreferenceMath
{
    /// <summary>
    /// The (conservative) sigmoid loss per pair: −(1−ε)·log σ(β·Δ) − ε·log σ(−β·Δ); ε = 0 is DPO's −log σ(β·Δ).
    /// </summary>
    public static Tensor SigmoidLoss(Tensor delta, double beta, double labelSmoothing)
    {
        var loss = nn.functional.logsigmoid(delta.Times(beta)).Times(labelSmoothing - 1);
        return labelSmoothing == 0 ? loss : loss.Plus(nn.functional.logsigmoid(delta.Times(-beta)), -labelSmoothing);
    }

    /// <summary>log(1 − exp(x)) for x &lt; 0, stable at both ends (Mächler's log1mexp, as TRL's ORPO uses).</summary>
    public static Tensor Log1mExp(Tensor x)
    {
        // −expm1(x) is accurate near 0; log1p(−exp(x)) far from it.
        var near = x.expm1().neg().log();
        var far = x.exp().neg().log1p();
        return where(x.GreaterThan(-Math.Log(2)), near, far);
    }

    /// <summary>Σ log p divided by the number of tokens (at least 1): the per-token mean TRL's ORPO, SimPO and IPO use.</summary>
    public static Tensor PerToken(Tensor sum, Tensor tokens) => sum / tokens.ClampedMin(1.0);
}
