using System.Numerics;

namespace QuantTune.Quantization.Gptq;

/// <summary>
/// The sequential heart of GPTQ for one lazy batch, on managed arrays: for each column i of a
/// run of columns, quantize it on the group's grid, err = (w − q)/Hinv_ii, and subtract
/// err·Hinv_i,j from every later column j of the batch. Rows are independent, so a range of
/// rows runs on its own (in parallel with other ranges). The quantizer steps are the integer
/// quantizer's formulas as single IEEE operations in the same order as <see cref="GptqGrid.Codes"/>
/// (s·x + z, round half to even, clamp; (q − z)/s), so codes match it bit for bit.
/// </summary>
internal static class GptqColumnKernel
{
    /// <param name="w">the batch transposed, [count, rows] row-major: column i of the batch is w[i·rows ..]; updated in place</param>
    /// <param name="hinv">the batch's block of the upper Cholesky factor, [count, count] row-major</param>
    /// <param name="codes">signed codes out, [count, rows]</param>
    /// <param name="err">scaled errors out, [count, rows]</param>
    /// <param name="scale">s per row of the current group</param>
    /// <param name="zero">z per row of the current group, or null (absmax)</param>
    public static void Run<T>(T[] w, T[] hinv, T[] codes, T[] err, int count, int rows, int first, int end, T[] scale, T[]? zero, int bits, int rowStart, int rowEnd)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int half = 1 << (bits - 1);
        // Both grids use all 2^b codes (GptqGrid).
        T lo = T.CreateChecked(-half), hi = T.CreateChecked(half - 1);
        int width = rowEnd - rowStart;
        var e = new T[width];
        for (int i = first; i < end; i++)
        {
            T d = hinv[i * count + i];
            int column = i * rows;
            for (int r = rowStart; r < rowEnd; r++)
            {
                T x = w[column + r], s = scale[r];
                T c, q;
                if (zero is null)
                {
                    c = T.Clamp(T.Round(x * s, MidpointRounding.ToEven), lo, hi);
                    q = c / s;
                }
                else
                {
                    T z = zero[r];
                    c = T.Clamp(T.Round(x * s + z, MidpointRounding.ToEven), lo, hi);
                    q = (c - z) / s;
                }
                codes[column + r] = c;
                T error = (x - q) / d;
                err[column + r] = error;
                e[r - rowStart] = error;
            }
            for (int j = i + 1; j < count; j++)
                Axpy(w.AsSpan(j * rows + rowStart, width), e, -hinv[i * count + j]);
        }
    }

    /// <summary>y += a·x, vectorised.</summary>
    static void Axpy<T>(Span<T> y, ReadOnlySpan<T> x, T a) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = y.Length, k = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<T>.Count)
        {
            var va = new Vector<T>(a);
            for (; k <= n - Vector<T>.Count; k += Vector<T>.Count)
            {
                var vy = new Vector<T>(y[k..]);
                (vy + va * new Vector<T>(x[k..])).CopyTo(y[k..]);
            }
        }
        for (; k < n; k++) y[k] += a * x[k];
    }
}
