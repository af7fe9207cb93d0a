using QuantTune.Formats.Gguf;

namespace QuantTune.Quantization.Layers;

/// <summary>The check both layers on GGUF blocks make of their blocks: rows of whole blocks, and exactly that many bytes.</summary>
static class GgufBlockRows
{
    /// <summary>The bytes of one row of <paramref name="columns"/> values; throws naming the caller's properties where the shape does not fit the blocks.</summary>
    public static long RowBytes(GgmlType type, long rows, long columns, byte[] blocks, string rowsName, string columnsName)
    {
        long rowBytes = type.ByteCount(columns)
            ?? throw new ArgumentException($"{columnsName} {columns} is not a whole number of {type} blocks ({type.BlockSize()})", columnsName);
        if (blocks.LongLength != rowBytes * rows)
            throw new ArgumentException($"{rowsName} {rows} rows of {columnsName} {columns} {type} values take {rowBytes * rows} bytes, not {blocks.LongLength}", nameof(blocks));
        return rowBytes;
    }
}
