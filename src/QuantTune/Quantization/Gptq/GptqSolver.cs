using System.Numerics;
using System.Runtime.InteropServices;
using QuantTune.Diagnostics;
using QuantTune.Quantization.Integer;
using QuantTune.Runtime;
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
/// float64 when W is float64) on the CPU; the Cholesky steps in float64 on the Hessian's device.
/// </summary>
public static class GptqSolver
{
    public static GptqResult Quantize(Tensor weight, Tensor hessian, GptqSettings settings)
    {
        using var prepared = Prepare(hessian, settings);
        return Quantize(weight, prepared, settings);
    }

    /// <summary>
    /// What only depends on the Hessian: the dead columns, the act-order permutation and the upper
    /// Cholesky factor of the dampened inverse (float32). Linears that share their input (q/k/v,
    /// gate/up) share it.
    /// </summary>
    public static GptqHessian Prepare(Tensor hessian, GptqSettings settings)
    {
        settings.Validate();
        if (hessian.dim() != 2 || hessian.shape[0] != hessian.shape[1])
            throw new QuantTuneException($"GPTQ: a Hessian [in, in] is needed; got [{string.Join(", ", hessian.shape)}]");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var dtype = hessian.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var h = hessian.dtype == ScalarType.Float64 ? hessian.detach().clone() : hessian.detach().to_type(ScalarType.Float64);
        var dead = h.diagonal().EqualTo(0);
        h.diagonal().MaskedFillInPlace(dead, 1);
        Tensor? permutation = null;
        if (settings.ActOrder)
        {
            permutation = argsort(h.diagonal(), descending: true);
            var permuted = h.index_select(0, permutation).index_select(1, permutation);
            h.Dispose();
            h = permuted;
        }
        var hinv = InverseCholesky(h, settings.Damp, dtype);
        h.Dispose();
        return new GptqHessian(dead.MoveToOuterDisposeScope(), permutation?.MoveToOuterDisposeScope(), hinv.MoveToOuterDisposeScope());
    }

    public static GptqResult Quantize(Tensor weight, GptqHessian hessian, GptqSettings settings)
    {
        settings.Validate();
        if (weight.dim() != 2 || hessian.Columns != weight.shape[1])
            throw new QuantTuneException($"GPTQ: a weight [out, in] and a Hessian [in, in] are needed; got [{string.Join(", ", weight.shape)}] and [{hessian.Columns}, {hessian.Columns}]");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var dtype = weight.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        // The column kernel reads managed arrays, so the solve runs on the CPU whatever device the
        // weight and Hessian are on; the result is on the CPU.
        var w = weight.detach().to(dtype, CPU, copy: true);
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

        w.MaskedFillInPlace(hessian.Dead.cpu().unsqueeze(0), 0);
        var permutation = hessian.Permutation?.cpu();
        if (permutation is not null) w = w.index_select(1, permutation);
        var hinv = hessian.InverseFactor.to(dtype, CPU);

        var codes = empty(rows, columns, dtype);
        long block = settings.LazyBlock(columns);
        for (long i1 = 0; i1 < columns; i1 += block)
        {
            using var blockScope = NewDisposeScope();
            int count = (int)Math.Min(block, columns - i1);
            // The batch transposed, so that each column is a contiguous run of rows.
            var w1 = w.narrow(1, i1, count).t().contiguous();
            var hinv1 = hinv.narrow(0, i1, count).narrow(1, i1, count).contiguous();
            Tensor codes1, err1;
            if (dtype == ScalarType.Float64)
                (codes1, err1) = SolveBatch<double>(w1, hinv1, i1, columns, g, perChannel, ref scale, ref zero, scales, zeros, settings);
            else
                (codes1, err1) = SolveBatch<float>(w1, hinv1, i1, columns, g, perChannel, ref scale, ref zero, scales, zeros, settings);
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

        var groupIndex = PinnedScalarMath.Arange(columns, ScalarType.Int64).DividedByInPlace(g, RoundingMode.floor);
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
    /// One lazy batch: its columns (rows of <paramref name="w1"/> [count, rows]) quantized in order by
    /// <see cref="GptqColumnKernel"/>, in parallel over ranges of rows, with a fresh grid (from the
    /// columns as updated so far) wherever a group starts. Returns the codes and scaled errors [count, rows].
    /// </summary>
    static (Tensor Codes, Tensor Errors) SolveBatch<T>(Tensor w1, Tensor hinv1, long i1, long columns, long g, bool perChannel,
        ref Tensor scale, ref Tensor? zero, Tensor scales, Tensor? zeros, GptqSettings settings) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int count = (int)w1.shape[0], rows = (int)w1.shape[1];
        var w = w1.data<T>().ToArray();
        var h = hinv1.data<T>().ToArray();
        var codes = new T[w.Length];
        var err = new T[w.Length];
        // Row ranges of at least 256 rows, a few per core.
        int chunk = Math.Max(256, rows / (4 * Environment.ProcessorCount) + 1);
        int ranges = (rows + chunk - 1) / chunk;
        T[] scaleRows = perChannel ? scale.to_type(w1.dtype).contiguous().data<T>().ToArray() : [];
        T[]? zeroRows = perChannel ? zero?.to_type(w1.dtype).contiguous().data<T>().ToArray() : null;
        int first = 0;
        while (first < count)
        {
            long j = i1 + first;
            int end = count;
            if (!perChannel)
            {
                // A group starts here (batches are whole groups or hold whole groups): its columns hold every update so far.
                int width = (int)Math.Min(g, columns - j);
                end = first + width;
                scale?.Dispose();
                zero?.Dispose();
                using (var slice = ToTensor(w.AsSpan(first * rows, width * rows).ToArray(), [width, rows]))
                    (scale, zero) = GptqGrid.Find(slice.t(), settings.Bits, settings.Mode);
                scale.DetachFromDisposeScope();
                zero?.DetachFromDisposeScope();
                scales.select(1, j / g).copy_(scale);
                zeros?.select(1, j / g).copy_(zero!);
                scaleRows = scale.contiguous().data<T>().ToArray();
                zeroRows = zero?.contiguous().data<T>().ToArray();
            }
            int from = first, to = end;
            var s = scaleRows;
            var z = zeroRows;
            Parallel.For(0, ranges, k =>
                GptqColumnKernel.Run(w, h, codes, err, count, rows, from, to, s, z, settings.Bits, k * chunk, Math.Min(rows, (k + 1) * chunk)));
            first = end;
        }
        return (ToTensor(codes, [count, rows]), ToTensor(err, [count, rows]));
    }

    static Tensor ToTensor<T>(T[] data, long[] shape) => data switch
    {
        float[] f => tensor(f, shape),
        double[] d => tensor(d, shape),
        _ => throw new NotSupportedException(typeof(T).Name),
    };

    /// <summary>
    /// The upper Cholesky factor U of (H + λI)⁻¹ with λ = damp·mean(diag H), computed in float64
    /// as gptq.py does: chol(cholesky_inverse(chol(H + λI)), upper); returned in <paramref name="dtype"/>.
    /// <paramref name="h"/> (float64) is dampened in place. Each [in, in] intermediate is freed as
    /// soon as the next exists (a 11008² float64 matrix is 0.97 GB).
    /// </summary>
    internal static Tensor InverseCholesky(Tensor h, double damp, ScalarType dtype)
    {
        double lambda = damp * h.diagonal().mean().item<double>();
        h.diagonal().PlusInPlace(lambda);
        try
        {
            using var lower = linalg.cholesky(h);
            using var inverse = cholesky_inverse(lower);
            lower.Dispose();
            using var lowerOfInverse = linalg.cholesky(inverse);
            inverse.Dispose();
            // chol(A, upper) = Lᵀ for the lower factor L of A.
            return lowerOfInverse.t().to_type(dtype).contiguous();
        }
        catch (ExternalException e)
        {
            throw new InvalidSettingException("GptqSettings.Damp", damp, $"GPTQ: the Hessian plus this fraction of its mean diagonal is not positive definite ({e.Message.Split('\n')[0]}); raise it", e);
        }
    }
}
