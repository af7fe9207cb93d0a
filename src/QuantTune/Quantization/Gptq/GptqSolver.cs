using System.Runtime.InteropServices;
using QuantTune.Diagnostics;
using QuantTune.Quantization.Integer;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Gptq;

/// <summary>
/// GPTQ for one weight matrix W [out, in] given the Hessian H = 2/n·XXᵀ of its inputs
/// (IST-DASLab/gptq fasterquant): dead columns (H_ii = 0) get H_ii = 1 and a zero weight;
/// optionally columns in order of descending H_ii (act-order); dampening λ = damp·mean(diag H);
/// Hinv = the upper Cholesky factor of (H + λI)⁻¹; then column by column, in lazy batches,
/// q = quant(w), err = (w − q)/Hinv_jj, and the columns not yet quantized absorb err·Hinv_j,k —
/// within the batch at once, in the rest of the matrix once per batch. Groups get fresh
/// min/max constants when their first column comes up. Arithmetic in W's dtype (float32, or
/// float64 when W is float64); the Cholesky steps in float64.
/// </summary>
public static class GptqSolver
{
    public static GptqResult Quantize(Tensor weight, Tensor hessian, GptqSettings settings)
    {
        settings.Validate();
        if (weight.dim() != 2 || hessian.dim() != 2 || hessian.shape[0] != weight.shape[1] || hessian.shape[1] != weight.shape[1])
            throw new QuantTuneException($"GPTQ: a weight [out, in] and a Hessian [in, in] are needed; got [{string.Join(", ", weight.shape)}] and [{string.Join(", ", hessian.shape)}]");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var dtype = weight.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var w = weight.detach().to_type(dtype).clone();
        long rows = w.shape[0], columns = w.shape[1];
        int bits = settings.Bits;
        var mode = settings.Mode;
        long g = settings.GroupColumns(columns), groups = (columns + g - 1) / g;
        bool perChannel = settings.GroupSize == -1;

        var scales = empty(rows, groups, dtype);
        var zeros = mode == IntegerMode.ZeroPoint ? empty(rows, groups, dtype) : null;
        Tensor scale = null!;
        Tensor? zero = null;
        if (perChannel)
        {
            // As gptq.py: the per-channel grid comes from the whole weight before dead columns are zeroed.
            (scale, zero) = GptqGrid.Find(w, bits, mode);
            scales.select(1, 0).copy_(scale);
            zeros?.select(1, 0).copy_(zero!);
        }

        var h = hessian.detach().to_type(ScalarType.Float64).clone();
        var dead = h.diagonal().eq(0);
        h.add_(diag(dead.to_type(ScalarType.Float64)));
        w.masked_fill_(dead.unsqueeze(0), 0);

        Tensor? permutation = null;
        if (settings.ActOrder)
        {
            permutation = argsort(h.diagonal(), descending: true);
            w = w.index_select(1, permutation);
            h = h.index_select(0, permutation).index_select(1, permutation);
        }
        var hinv = InverseCholesky(h, settings.Damp).to_type(dtype);

        var codes = empty(rows, columns, dtype);
        long block = settings.LazyBlock(columns);
        for (long i1 = 0; i1 < columns; i1 += block)
        {
            using var blockScope = NewDisposeScope();
            long count = Math.Min(block, columns - i1);
            // The batch transposed: row i is column i1 + i, contiguous.
            var w1 = w.narrow(1, i1, count).t().contiguous();
            var err1 = empty(count, rows, dtype);
            var codes1 = empty(count, rows, dtype);
            var hinv1 = hinv.narrow(0, i1, count).narrow(1, i1, count);
            var pivots = hinv1.diagonal().to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
            for (long i = 0; i < count; i++)
            {
                long j = i1 + i;
                if (!perChannel && j % g == 0)
                {
                    // A group starts: its columns (all inside this batch) hold every update so far.
                    long width = Math.Min(g, columns - j);
                    scale?.Dispose();
                    zero?.Dispose();
                    (scale, zero) = GptqGrid.Find(w1.narrow(0, i, width).t(), bits, mode);
                    scale.DetachFromDisposeScope();
                    zero?.DetachFromDisposeScope();
                    scales.select(1, j / g).copy_(scale);
                    zeros?.select(1, j / g).copy_(zero!);
                }
                using var columnScope = NewDisposeScope();
                var column = w1[i].unsqueeze(1);
                var c = IntegerMath.Codes(column, scale, zero, bits);
                var q = IntegerMath.Dequantize(c, scale, zero);
                codes1[i].copy_(c.squeeze(1));
                var e = column.sub(q).squeeze(1).div_(pivots[i]);
                err1[i].copy_(e);
                w1.narrow(0, i, count - i).sub_(outer(hinv1[i].narrow(0, i, count - i), e));
            }
            codes.narrow(1, i1, count).copy_(codes1.t());
            if (i1 + count < columns)
            {
                long rest = columns - i1 - count;
                w.narrow(1, i1 + count, rest).sub_(err1.t().matmul(hinv.narrow(0, i1, count).narrow(1, i1 + count, rest)));
            }
        }
        if (!perChannel)
        {
            scale?.Dispose();
            zero?.Dispose();
        }

        var groupIndex = arange(columns, ScalarType.Int64).div_(g, rounding_mode: RoundingMode.floor);
        if (permutation is not null)
        {
            var inverse = argsort(permutation);
            codes = codes.index_select(1, inverse);
            // Column perm[k] was quantized k-th: its group is k / g.
            groupIndex = groupIndex.index_select(0, inverse);
        }
        return GptqResult.Create(codes, scales, zeros, groupIndex.to_type(ScalarType.Int32), settings).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The upper Cholesky factor U of (H + λI)⁻¹ with λ = damp·mean(diag H) (float64):
    /// chol(cholesky_inverse(chol(H + λI)), upper), as gptq.py computes Hinv.
    /// </summary>
    internal static Tensor InverseCholesky(Tensor h, double damp)
    {
        using var scope = NewDisposeScope();
        var damped = h.to_type(ScalarType.Float64).clone();
        double lambda = damp * damped.diagonal().mean().item<double>();
        damped.add_(eye(damped.shape[0], dtype: ScalarType.Float64).mul_(lambda));
        try
        {
            var lower = linalg.cholesky(damped);
            // chol(A, upper) = Lᵀ for the lower factor L of A.
            return linalg.cholesky(cholesky_inverse(lower)).t().contiguous().MoveToOuterDisposeScope();
        }
        catch (ExternalException e)
        {
            throw new QuantTuneException($"GPTQ: the Hessian plus {damp} of its mean diagonal is not positive definite ({e.Message.Split('\n')[0]}); raise --damp", e);
        }
    }
}
