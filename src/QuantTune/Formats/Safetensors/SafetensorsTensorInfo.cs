namespace QuantTune.Formats.Safetensors;

/// <summary>One entry of a safetensors header. Offsets are relative to the start of the data section.</summary>
public sealed record SafetensorsTensorInfo(string Name, SafetensorsDType DType, long[] Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    public override string ToString() => $"{Name} {DType}[{string.Join(", ", Shape)}]";
}
