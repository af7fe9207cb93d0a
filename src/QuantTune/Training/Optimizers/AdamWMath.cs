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
        param.TimesInPlace(1 - lr * o.WeightDecay);
        double biasCorrection1 = 1 - Math.Pow(o.Beta1, step);
        double biasCorrection2 = 1 - Math.Pow(o.Beta2, step);
        expAvg.TimesInPlace(o.Beta1).PlusInPlace(grad, 1 - o.Beta1);
        expAvgSq.TimesInPlace(o.Beta2).PlusProductInPlace(grad, grad, 1 - o.Beta2);
        var denom = expAvgSq.sqrt().DividedBy(Math.Sqrt(biasCorrection2)).PlusInPlace(o.Eps);
        double stepSize = lr / biasCorrection1;
        param.PlusQuotientInPlace(expAvg, denom, -stepSize);
    }
}
