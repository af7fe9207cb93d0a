using System.Buffers.Binary;
using System.Text;
using QuantTune.Diagnostics;

namespace QuantTune.Formats.Gguf;

/// <summary>
/// A bounds-checked little-endian reader over a file stream: every read first checks that the
/// bytes are there and otherwise throws <see cref="InvalidFormatException"/> naming the field, so
/// a corrupt length never reads past the end nor allocates beyond what the file could hold.
/// </summary>
internal sealed class GgufCursor
{
    readonly Stream _stream;
    readonly byte[] _scratch = new byte[8];

    public GgufCursor(Stream stream, string file)
    {
        _stream = stream;
        File = file;
        Length = stream.Length;
    }

    public string File { get; }
    public long Length { get; }
    public long Position { get; private set; }
    public long Remaining => Length - Position;

    public InvalidFormatException Invalid(string field, string problem) => new(File, field, problem);

    /// <summary>Fails unless <paramref name="count"/> bytes remain.</summary>
    public void Require(ulong count, string field)
    {
        if (count > (ulong)Remaining)
            throw Invalid(field, $"needs {count} bytes at offset {Position}, but only {Remaining} remain: the file is truncated or the field is corrupt");
    }

    public byte[] ReadBytes(ulong count, string field)
    {
        Require(count, field);
        var bytes = new byte[count];
        _stream.Position = Position;
        _stream.ReadExactly(bytes);
        Position += (long)count;
        return bytes;
    }

    ReadOnlySpan<byte> Read(int count, string field)
    {
        Require((ulong)count, field);
        _stream.Position = Position;
        _stream.ReadExactly(_scratch.AsSpan(0, count));
        Position += count;
        return _scratch.AsSpan(0, count);
    }

    public byte U8(string field) => Read(1, field)[0];
    public ushort U16(string field) => BinaryPrimitives.ReadUInt16LittleEndian(Read(2, field));
    public uint U32(string field) => BinaryPrimitives.ReadUInt32LittleEndian(Read(4, field));
    public ulong U64(string field) => BinaryPrimitives.ReadUInt64LittleEndian(Read(8, field));
    public float F32(string field) => BinaryPrimitives.ReadSingleLittleEndian(Read(4, field));
    public double F64(string field) => BinaryPrimitives.ReadDoubleLittleEndian(Read(8, field));

    /// <summary>A GGUF string: u64 byte length, then that many bytes of UTF-8.</summary>
    public string String(string field)
    {
        ulong n = U64(field);
        Require(n, field);
        if (n > int.MaxValue) throw Invalid(field, $"a string of {n} bytes is too long");
        var bytes = ReadBytes(n, field);
        try { return new UTF8Encoding(false, true).GetString(bytes); }
        catch (DecoderFallbackException) { throw Invalid(field, "is not valid UTF-8"); }
    }

    public void Skip(long count, string field)
    {
        Require((ulong)count, field);
        Position += count;
    }
}
