namespace QuantTune.Formats.Gguf;

/// <summary>The ggml tensor types this library reads and writes, with their ids from ggml.h.</summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q8_0 = 8,
}

/// <summary>Block geometry of each <see cref="GgmlType"/> (ggml-common.h).</summary>
public static class GgmlTypes
{
    /// <summary>Whether <paramref name="id"/> is a type this library supports.</summary>
    public static bool IsSupported(uint id) => Enum.IsDefined(typeof(GgmlType), id);

    /// <summary>Elements per block: 1 for F32 and F16, 32 for Q4_0 and Q8_0.</summary>
    public static int BlockSize(this GgmlType type) => type switch
    {
        GgmlType.F32 or GgmlType.F16 => 1,
        GgmlType.Q4_0 or GgmlType.Q8_0 => 32,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unsupported ggml type"),
    };

    /// <summary>Bytes per block: 4 (F32), 2 (F16), 18 (Q4_0: fp16 scale + 16 nibble bytes), 34 (Q8_0: fp16 scale + 32 int8).</summary>
    public static int BlockBytes(this GgmlType type) => type switch
    {
        GgmlType.F32 => 4,
        GgmlType.F16 => 2,
        GgmlType.Q4_0 => 18,
        GgmlType.Q8_0 => 34,
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
