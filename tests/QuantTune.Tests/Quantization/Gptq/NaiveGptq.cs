namespace QuantTune.Tests.Quantization.Gptq;

/// <summary>
/// GPTQ written the straightforward way, independent of the library: float64 scalar loops, one
/// column at a time, the optimal-brain-surgeon update with the full inverse Hessian (explicit
/// Gauss–Jordan inverse, then Gaussian elimination of each quantized coordinate) instead of the
/// Cholesky factor and lazy batches, and docs/design.md §4's grid formulas.
/// </summary>
internal static class NaiveGptq
{
    public sealed record Result(double[,] Codes, int[] GroupIndex, double[,] Weights);

    public static Result Run(double[,] weight, double[,] hessian, int bits, int group, bool asymmetric, bool actOrder, double damp = 0.01)
    {
        int rows = weight.GetLength(0), n = weight.GetLength(1);
        var w = (double[,])weight.Clone();
        var h = (double[,])hessian.Clone();
        int g = group == -1 ? n : group;
        // Per-channel grid from the weight before dead columns are zeroed (gptq.py).
        var channelGrid = group == -1 ? Enumerable.Range(0, rows).Select(r => Grid(Row(w, r, 0, n), bits, asymmetric)).ToArray() : null;
        for (int i = 0; i < n; i++)
            if (h[i, i] == 0)
            {
                h[i, i] = 1;
                for (int r = 0; r < rows; r++) w[r, i] = 0;
            }
        var perm = Enumerable.Range(0, n).ToArray();
        if (actOrder) perm = perm.OrderByDescending(i => h[i, i]).ToArray();
        var wp = new double[rows, n];
        var hp = new double[n, n];
        for (int a = 0; a < n; a++)
        {
            for (int r = 0; r < rows; r++) wp[r, a] = w[r, perm[a]];
            for (int b = 0; b < n; b++) hp[a, b] = h[perm[a], perm[b]];
        }
        double mean = Enumerable.Range(0, n).Average(i => hp[i, i]);
        for (int i = 0; i < n; i++) hp[i, i] += damp * mean;
        var hinv = Inverse(hp);

        var codes = new double[rows, n];
        var deq = new double[rows, n];
        var grid = channelGrid;
        for (int k = 0; k < n; k++)
        {
            if (group != -1 && k % g == 0)
                grid = Enumerable.Range(0, rows).Select(r => Grid(Row(wp, r, k, Math.Min(g, n - k)), bits, asymmetric)).ToArray();
            for (int r = 0; r < rows; r++)
            {
                var (s, z) = grid![r];
                double c = Code(wp[r, k], s, z, bits, asymmetric);
                double q = asymmetric ? (c - z) / s : c / s;
                codes[r, perm[k]] = c;
                deq[r, perm[k]] = q;
                double err = (wp[r, k] - q) / hinv[k, k];
                for (int j = k + 1; j < n; j++) wp[r, j] -= err * hinv[k, j];
            }
            // Remove coordinate k from the inverse Hessian of the remaining columns.
            var pivotRow = Enumerable.Range(0, n).Select(b => hinv[k, b]).ToArray();
            var pivotColumn = Enumerable.Range(0, n).Select(a => hinv[a, k]).ToArray();
            for (int a = k + 1; a < n; a++)
                for (int b = k + 1; b < n; b++)
                    hinv[a, b] -= pivotColumn[a] * pivotRow[b] / pivotRow[k];
        }
        var gIdx = new int[n];
        for (int k = 0; k < n; k++) gIdx[perm[k]] = k / g;
        return new Result(codes, gIdx, deq);
    }

    static double[] Row(double[,] m, int r, int start, int count) => Enumerable.Range(start, count).Select(j => m[r, j]).ToArray();

    /// <summary>
    /// gptq.py's grid with maxq = 2^b − 1, as the multiplier s = 1/scale. Symmetric: scale = 2·max|x|/maxq
    /// (2/maxq for all zeros), unsigned zero (maxq + 1)/2, so signed zero 0. Zero point on
    /// [min(x, 0), max(x, 0)]: s = maxq/(hi − lo), z = round(−s·lo) − 2^(b-1).
    /// </summary>
    public static (double Scale, double Zero) Grid(double[] x, int bits, bool asymmetric)
    {
        if (!asymmetric)
        {
            double alpha = x.Max(Math.Abs), maxq = (1 << bits) - 1;
            double s = maxq / (2 * alpha);
            return (double.IsFinite(s) ? s : maxq / 2, 0);
        }
        double lo = Math.Min(x.Min(), 0), hi = Math.Max(x.Max(), 0);
        double scale = ((1 << bits) - 1) / (hi - lo);
        if (!double.IsFinite(scale)) scale = 1;
        return (scale, Math.Round(-scale * lo, MidpointRounding.ToEven) - (1 << (bits - 1)));
    }

    public static double Code(double x, double s, double z, int bits, bool asymmetric)
    {
        int half = 1 << (bits - 1);
        return Math.Clamp(Math.Round(x * s + (asymmetric ? z : 0), MidpointRounding.ToEven), -half, half - 1);
    }

    static double[,] Inverse(double[,] m)
    {
        int n = m.GetLength(0);
        var a = new double[n, 2 * n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++) a[i, j] = m[i, j];
            a[i, n + i] = 1;
        }
        for (int c = 0; c < n; c++)
        {
            int p = Enumerable.Range(c, n - c).MaxBy(r => Math.Abs(a[r, c]));
            if (p != c)
                for (int j = 0; j < 2 * n; j++) (a[c, j], a[p, j]) = (a[p, j], a[c, j]);
            double d = a[c, c];
            for (int j = 0; j < 2 * n; j++) a[c, j] /= d;
            for (int r = 0; r < n; r++)
            {
                if (r == c || a[r, c] == 0) continue;
                double f = a[r, c];
                for (int j = 0; j < 2 * n; j++) a[r, j] -= f * a[c, j];
            }
        }
        var inv = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) inv[i, j] = a[i, n + j];
        return inv;
    }
}
