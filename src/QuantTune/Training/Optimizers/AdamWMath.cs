using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Training.Optimizers;

/// <summary>
/// One AdamW update of one tensor, in place, with exactly the operations and the order of
/// PyTorch's single-tensor AdamW (and TorchSharp's port of it), so that results agree bit for
/// bit: decoupled decay, the two moment updates, <c>denom = (√v / √bc2) + eps</c> and
/// <c>p.addcdiv_(m, denom, −lr/bc1)</c>. Every optimizer here funnels through this method, so
/// 32-bit, paged and 8-bit AdamW differ only in where and how the moments are kept.
/// </summary>
/// <remarks>
/// PyTorch 2.x writes the first moment as <c>exp_avg.lerp_(grad, 1 − β1)</c>; TorchSharp (and
/// the textbook) as <c>mul_(β1).add_(grad, 1 − β1)</c>. We follow TorchSharp, which the tests
/// compare against bit for bit; the two differ by at most an ulp per step.
/// </remarks>
internal static class AdamWMath
{
    /// <param name="step">the parameter's step count after this update (1 for the first update)</param>
    public static void Update(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, long step, double lr, AdamWOptions o)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // A bf16 parameter with fp32 moments (bitsandbytes' 32-bit optimizers on a bf16 model):
        // the update runs on an fp32 copy of the parameter and is rounded once, when stored back.
        bool widened = param.dtype != expAvg.dtype;
        var p = widened ? param.to_type(expAvg.dtype) : param;
        var g = grad.dtype != expAvg.dtype ? grad.to_type(expAvg.dtype) : grad;
        p.TimesInPlace(1 - lr * o.WeightDecay);
        double biasCorrection1 = 1 - Math.Pow(o.Beta1, step);
        double biasCorrection2 = 1 - Math.Pow(o.Beta2, step);
        expAvg.TimesInPlace(o.Beta1).PlusInPlace(g, 1 - o.Beta1);
        expAvgSq.TimesInPlace(o.Beta2).PlusProductInPlace(g, g, 1 - o.Beta2);
        var denom = expAvgSq.sqrt().DividedBy(Math.Sqrt(biasCorrection2)).PlusInPlace(o.Eps);
        double stepSize = lr / biasCorrection1;
        p.PlusQuotientInPlace(expAvg, denom, -stepSize);
        if (widened) param.copy_(p);
    }

    /// <summary>The dtype AdamW keeps a parameter's moments in: fp32 for half-precision parameters (bitsandbytes' 32-bit state), the parameter's own otherwise.</summary>
    public static ScalarType MomentDType(ScalarType param) => param is ScalarType.BFloat16 or ScalarType.Float16 ? ScalarType.Float32 : param;
}
