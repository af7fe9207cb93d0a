using QuantTune.Formats.Gguf.Blocks;

namespace QuantTune.Formats.Gguf.Kernels;

/// <summary>
/// The dot products that run on GGUF blocks as stored (ggml-cpu's <c>type_traits_cpu</c>: <c>vec_dot</c> and
/// <c>vec_dot_type</c>): the activations are quantized to Q8_K for the k-quants and to Q8_0 for Q4_0 and Q8_0
/// (<see cref="QuantizeActivations"/>), then each weight row is dotted with them block by block.
/// </summary>
public static unsafe class GgmlVecDot
{
    /// <summary>Whether rows of <paramref name="type"/> have a kernel here.</summary>
    public static bool HasKernel(GgmlType type) =>
        type is GgmlType.Q4_0 or GgmlType.Q8_0 or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K;

    /// <summary>Bytes of one row of <paramref name="cols"/> activations quantized for <paramref name="type"/> weights.</summary>
    public static int ActivationRowBytes(GgmlType type, int cols) => IsKQuant(Checked(type))
        ? cols / BlockQ8_K.BlockSize * BlockQ8_K.BlockBytes
        : cols / BlockQ8_0.BlockSize * BlockQ8_0.BlockBytes;

    /// <summary><c>from_float</c> of the <c>vec_dot_type</c>: <c>quantize_row_q8_K_ref</c> or <c>quantize_row_q8_0_ref</c>.</summary>
    public static void QuantizeActivations(GgmlType type, ReadOnlySpan<float> x, Span<byte> y)
    {
        if (IsKQuant(Checked(type))) BlockQ8_K.QuantizeRow(x, y);
        else BlockQ8_0.QuantizeRow(x, y);
    }

    /// <summary>Σ x·y over one row of <paramref name="cols"/> weights of <paramref name="type"/> and its quantized activations.</summary>
    public static float Dot(GgmlType type, ReadOnlySpan<byte> x, ReadOnlySpan<byte> y, int cols, KernelIsa isa)
    {
        int nb = cols / type.BlockSize();
        BlockMath.CheckedBlocks(type.ToString(), type.BlockSize(), type.BlockBytes(), cols, x.Length);
        if (y.Length != ActivationRowBytes(type, cols))
            throw new ArgumentException($"{cols} activations quantized for {type} take {ActivationRowBytes(type, cols)} bytes, not {y.Length}");
        fixed (byte* px = x, py = y) return Dot(type, px, py, nb, KernelIsas.Checked(isa));
    }

    /// <summary>Σ x·y over <paramref name="nb"/> blocks; no checks.</summary>
    internal static float Dot(GgmlType type, byte* x, byte* y, int nb, KernelIsa isa) => type switch
    {
        GgmlType.Q4_0 => VecDotQ4_0.Dot(x, y, nb, isa),
        GgmlType.Q8_0 => VecDotQ8_0.Dot(x, y, nb, isa),
        GgmlType.Q4_K => VecDotQ4_K.Dot(x, y, nb, isa),
        GgmlType.Q5_K => VecDotQ5_K.Dot(x, y, nb, isa),
        GgmlType.Q6_K => VecDotQ6_K.Dot(x, y, nb, isa),
        _ => throw Unsupported(type),
    };

    static bool IsKQuant(GgmlType type) => type.BlockSize() == GgmlTypes.QK_K;

    static GgmlType Checked(GgmlType type) => HasKernel(type) ? type : throw Unsupported(type);

    static NotSupportedException Unsupported(GgmlType type) =>
        new($"ggml type {type} has no dot-product kernel; those with one are Q4_0, Q8_0, Q4_K, Q5_K and Q6_K");
}
