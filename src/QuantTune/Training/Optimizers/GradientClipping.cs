using QuantTune.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Training.Optimizers;

/// <summary>
/// Global gradient-norm clipping, as PyTorch's <c>torch.nn.utils.clip_grad_norm_</c> (L2):
/// the total norm is the L2 norm of the per-tensor L2 norms; if it exceeds the limit every grad
/// is scaled by <c>maxNorm / (total + 1e-6)</c>. The trainer logs the returned (pre-clip) norm.
/// </summary>
public static class GradientClipping
{
    /// <summary>Clips in place; parameters without a grad are ignored.</summary>
    /// <returns>
    /// the total norm before clipping. When a grad is not finite it is NaN or infinity and the
    /// grads are scaled by NaN or 0, exactly as PyTorch does; the caller should skip that step.
    /// </returns>
    public static double ClipGradNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "the norm limit must be positive");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var grads = parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!).ToArray();
        if (grads.Length == 0) return 0.0;
        var norms = grads.Select(g => g.L2Norm().to_type(ScalarType.Float32)).ToArray();
        var total = stack(norms).L2Norm();
        // clip_coef = max_norm / (total + 1e-6), clamped to at most 1: factor 1 leaves grads as they are.
        var coefficient = total.Plus(1e-6).Dividing(maxNorm).ClampedMax(1.0);
        foreach (var g in grads) g.mul_(coefficient.to(g.device).to_type(g.dtype));
        return total.item<float>();
    }
}
