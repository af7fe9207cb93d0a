namespace QuantTune.Formats.Gguf.Kernels;

/// <summary>
/// y = x · Wᵀ for W stored as GGUF rows (<c>ggml_compute_forward_mul_mat</c> on CPU): the activation rows are
/// quantized once (<see cref="GgmlVecDot.QuantizeActivations"/>), then the weight rows are split among up to
/// <c>degree</c> threads, and each weight row, read once, is dotted with every activation row while it is in cache.
/// </summary>
public static unsafe class GgmlMatMul
{
    /// <summary>Weight rows a thread takes at a time: enough to amortize the hand-off, few enough to balance two cores.</summary>
    const int RowsPerTask = 16;

    /// <summary>
    /// <paramref name="y"/> [m, rows] = <paramref name="x"/> [m, cols] · Wᵀ, W being <paramref name="rows"/> rows of
    /// <paramref name="cols"/> <paramref name="type"/> values at <paramref name="weights"/>.
    /// </summary>
    public static void Multiply(GgmlType type, ReadOnlySpan<byte> weights, int rows, int cols, ReadOnlySpan<float> x, Span<float> y,
        int degree, KernelIsa isa)
    {
        long rowBytes = type.ByteCount(cols) ?? throw new ArgumentException($"{cols} columns are not a whole number of {type} blocks ({type.BlockSize()})");
        if (weights.Length != rowBytes * rows)
            throw new ArgumentException($"{rows} rows of {cols} {type} values take {rowBytes * rows} bytes, not {weights.Length}");
        fixed (byte* w = weights) Multiply(type, w, rows, cols, x, y, degree, isa);
    }

    /// <inheritdoc cref="Multiply(GgmlType, ReadOnlySpan{byte}, int, int, ReadOnlySpan{float}, Span{float}, int, KernelIsa)"/>
    public static void Multiply(GgmlType type, byte* weights, int rows, int cols, ReadOnlySpan<float> x, Span<float> y, int degree, KernelIsa isa)
    {
        if (!GgmlVecDot.HasKernel(type)) throw new NotSupportedException($"ggml type {type} has no dot-product kernel");
        if (cols <= 0 || x.Length % cols != 0) throw new ArgumentException($"{x.Length} activations are not whole rows of {cols}");
        int m = x.Length / cols;
        if (y.Length != (long)m * rows) throw new ArgumentException($"{m} rows times {rows} outputs take {(long)m * rows} values, not {y.Length}");
        if (degree < 1) throw new ArgumentOutOfRangeException(nameof(degree), degree, "at least one thread");
        isa = KernelIsas.Checked(isa);

        int qRowBytes = GgmlVecDot.ActivationRowBytes(type, cols);
        var q = new byte[(long)qRowBytes * m];
        for (int r = 0; r < m; ++r)
            GgmlVecDot.QuantizeActivations(type, x.Slice(r * cols, cols), q.AsSpan(r * qRowBytes, qRowBytes));

        long rowBytes = type.ByteCount(cols)!.Value;
        int nb = cols / type.BlockSize();
        fixed (byte* pq = q)
        fixed (float* py = y)
        {
            var job = new Job(type, weights, rowBytes, rows, nb, pq, qRowBytes, m, py, isa);
            int tasks = (rows + RowsPerTask - 1) / RowsPerTask;
            if (degree == 1 || tasks == 1) for (int t = 0; t < tasks; ++t) job.Run(t);
            else Parallel.For(0, tasks, new ParallelOptions { MaxDegreeOfParallelism = degree }, job.Run);
        }
    }

    /// <summary>One call's pointers, so that each task computes rows [t·16, t·16 + 16) of every output row.</summary>
    sealed class Job(GgmlType type, byte* weights, long rowBytes, int rows, int nb, byte* q, int qRowBytes, int m, float* y, KernelIsa isa)
    {
        public void Run(int task)
        {
            int end = Math.Min(rows, (task + 1) * RowsPerTask);
            for (int o = task * RowsPerTask; o < end; ++o)
            {
                byte* w = weights + o * rowBytes;
                for (int r = 0; r < m; ++r)
                    y[(long)r * rows + o] = GgmlVecDot.Dot(type, w, q + (long)r * qRowBytes, nb, isa);
            }
        }
    }
}
