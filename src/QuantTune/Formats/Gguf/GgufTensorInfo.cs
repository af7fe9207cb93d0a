namespace QuantTune.Formats.Gguf;

/// <summary>
/// One tensor entry of a GGUF file: its name, dimensions innermost first (ggml order, the reverse of
/// a PyTorch shape), ggml type and byte offset relative to the start of the data section.
/// </summary>
public sealed record GgufTensorInfo(string Name, long[] Dims, GgmlType Type, long Offset)
{
    public long ElementCount => Dims.Aggregate(1L, (a, d) => checked(a * d));

    /// <summary>The PyTorch shape (outermost first).</summary>
    public long[] Shape => Dims.Reverse().ToArray();

    /// <summary>Bytes of data; the element count is a whole number of blocks (checked when read or written).</summary>
    public long ByteLength => Type.ByteCount(ElementCount) ?? throw new InvalidOperationException($"{Name}: {ElementCount} elements are not a whole number of {Type} blocks");
}
