namespace QuantTune.Formats.Gguf;

/// <summary>The ggml tensor types this library reads and writes, with their ids from ggml.h.</summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
}

/// <summary>Block geometry of each <see cref="GgmlType"/> (ggml-common.h).</summary>
public static class GgmlTypes
{
    /// <summary>Elements in one k-quant super-block (ggml-common.h <c>QK_K</c>).</summary>
    public const int QK_K = 256;

    /// <summary>Whether <paramref name="id"/> is a type this library supports.</summary>
    public static bool IsSupported(uint id) => Enum.IsDefined(typeof(GgmlType), id);

    /// <summary>Elements per block: 1 for F32/F16/BF16, 32 for the legacy quants, 256 for k-quants and ternary types.</summary>
    public static int BlockSize(this GgmlType type) => type switch
    {
        GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 => 1,
        GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_0 or GgmlType.Q5_1 or GgmlType.Q8_0 => 32,
        GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K
            or GgmlType.TQ1_0 or GgmlType.TQ2_0 => QK_K,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unsupported ggml type"),
    };

    /// <summary>Bytes per block, as the <c>block_*</c> structs of ggml-common.h lay them out.</summary>
    public static int BlockBytes(this GgmlType type) => type switch
    {
        GgmlType.F32 => 4,
        GgmlType.F16 or GgmlType.BF16 => 2,
        GgmlType.Q4_0 => 18,   // d + 16 nibble bytes
        GgmlType.Q4_1 => 20,   // d, m + 16 nibble bytes
        GgmlType.Q5_0 => 22,   // d + qh[4] + 16
        GgmlType.Q5_1 => 24,   // d, m + qh[4] + 16
        GgmlType.Q8_0 => 34,   // d + 32 int8
        GgmlType.Q2_K => 84,   // scales[16] + qs[64] + d + dmin
        GgmlType.Q3_K => 110,  // hmask[32] + qs[64] + scales[12] + d
        GgmlType.Q4_K => 144,  // d + dmin + scales[12] + qs[128]
        GgmlType.Q5_K => 176,  // d + dmin + scales[12] + qh[32] + qs[128]
        GgmlType.Q6_K => 210,  // ql[128] + qh[64] + scales[16] + d
        GgmlType.TQ1_0 => 54,  // qs[48] + qh[4] + d
        GgmlType.TQ2_0 => 66,  // qs[64] + d
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unsupported ggml type"),
    };

    /// <summary>Bytes for <paramref name="elements"/> elements, or null when the count is not a whole number of blocks or overflows.</summary>
    public static long? ByteCount(this GgmlType type, long elements)
    {
        int bs = type.BlockSize();
        if (elements < 0 || elements % bs != 0) return null;
        try { return checked(elements / bs * type.BlockBytes()); }
        catch (OverflowException) { return null; }
    }
}
