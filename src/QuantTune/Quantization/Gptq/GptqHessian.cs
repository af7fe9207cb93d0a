using static TorchSharp.torch;

namespace QuantTune.Quantization.Gptq;

/// <summary>
/// A Hessian made ready for <see cref="GptqSolver"/>: which input columns are dead (H_ii = 0),
/// the act-order permutation (or null), and Hinv, the upper Cholesky factor of (H + λI)⁻¹ in
/// the permuted order. Owns its tensors.
/// </summary>
public sealed class GptqHessian(Tensor dead, Tensor? permutation, Tensor inverseFactor) : IDisposable
{
    /// <summary>bool [in]: inputs that were always zero.</summary>
    public Tensor Dead { get; } = dead;
    /// <summary>int64 [in]: column k of the quantization order is input Permutation[k]; null in natural order.</summary>
    public Tensor? Permutation { get; } = permutation;
    /// <summary>[in, in] upper triangular.</summary>
    public Tensor InverseFactor { get; } = inverseFactor;
    public long Columns => InverseFactor.shape[0];

    public void Dispose()
    {
        Dead.Dispose();
        Permutation?.Dispose();
        InverseFactor.Dispose();
    }
}
