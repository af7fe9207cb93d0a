using System.Text;
using QuantTune.IO;

namespace QuantTune.Formats.Gguf;

/// <summary>
/// Builds a GGUF v3 file: header (magic, version, tensor count, KV count), typed metadata, tensor
/// infos, then the data section aligned to <c>general.alignment</c> with each tensor aligned within it.
/// Everything little-endian; the file is written atomically (temporary file + rename). A tensor's
/// type and shape fix its byte size, so the header is written before any data, and a tensor added
/// with an encoder is encoded only when its turn comes in <see cref="Write"/>: as llama.cpp's
/// gguf writer does, the file streams one tensor at a time.
/// </summary>
public sealed class GgufWriter
{
    /// <summary>The alignment written as <c>general.alignment</c> unless the caller sets another.</summary>
    public const uint DefaultAlignment = 32;

    readonly List<KeyValuePair<string, GgufValue>> _metadata = new();
    readonly List<(string Name, long[] Dims, GgmlType Type, long Bytes, Func<byte[]> Encode)> _tensors = new();

    /// <summary>Adds (or replaces) a metadata entry; order of first insertion is kept.</summary>
    public GgufWriter Add(string key, GgufValue value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        int i = _metadata.FindIndex(kv => kv.Key == key);
        if (i >= 0) _metadata[i] = new(key, value);
        else _metadata.Add(new(key, value));
        return this;
    }

    /// <summary>
    /// Adds a tensor of <paramref name="type"/> already encoded in <paramref name="data"/>;
    /// <paramref name="shape"/> is the PyTorch shape (outermost first), stored innermost first.
    /// </summary>
    public GgufWriter AddTensor(string name, GgmlType type, long[] shape, byte[] data)
    {
        long bytes = ByteCount(name, type, shape);
        if (bytes != data.Length)
            throw new ArgumentException($"{name}: shape [{string.Join(", ", shape)}] of {type} needs {bytes} bytes, got {data.Length}");
        return Add(name, type, shape, bytes, () => data);
    }

    /// <summary>
    /// Adds a tensor of <paramref name="type"/> and <paramref name="shape"/> whose bytes <paramref name="encode"/>
    /// produces during <see cref="Write"/>, in the order tensors were added, and which are dropped once written:
    /// only one encoded tensor is held at a time.
    /// </summary>
    public GgufWriter AddTensor(string name, GgmlType type, long[] shape, Func<byte[]> encode) =>
        Add(name, type, shape, ByteCount(name, type, shape), encode);

    GgufWriter Add(string name, GgmlType type, long[] shape, long bytes, Func<byte[]> encode)
    {
        if (_tensors.Any(t => t.Name == name)) throw new ArgumentException($"tensor '{name}' was already added", nameof(name));
        _tensors.Add((name, shape.Reverse().ToArray(), type, bytes, encode));
        return this;
    }

    /// <summary>The bytes a tensor of <paramref name="type"/> and <paramref name="shape"/> takes; rows must be whole blocks.</summary>
    static long ByteCount(string name, GgmlType type, long[] shape)
    {
        long elements = shape.Aggregate(1L, (a, d) => checked(a * d));
        if (shape.Length > 0 && type.BlockSize() > 1 && shape[^1] % type.BlockSize() != 0)
            throw new ArgumentException($"{name}: rows of {shape[^1]} values are not a whole number of {type} blocks ({type.BlockSize()})");
        return type.ByteCount(elements)
            ?? throw new ArgumentException($"{name}: shape [{string.Join(", ", shape)}] of {type} needs a whole number of blocks, so no byte count");
    }

    /// <summary>Encodes <paramref name="values"/> as <paramref name="type"/> and adds it (see <see cref="AddTensor(string, GgmlType, long[], byte[])"/>).</summary>
    public GgufWriter AddTensor(string name, GgmlType type, long[] shape, ReadOnlySpan<float> values) =>
        AddTensor(name, type, shape, GgmlCodec.Quantize(type, values));

    /// <summary>
    /// Before the work: refuses a path a GGUF file cannot be written to (see <see cref="OutputFolder.Problem"/>),
    /// or an existing file there that is not a GGUF file (a model's weights given by mistake), which would be lost.
    /// </summary>
    public static void CheckOutput(string path)
    {
        OutputFolder.CheckWritable(path, isFolder: false);
        if (File.Exists(path) && !GgufFile.StartsWithMagic(path))
            throw new Diagnostics.QuantTuneException($"{path}: already exists and is not a GGUF file; nothing was changed. Choose a new file name, or move that file away");
    }

    /// <summary>Writes the file to <paramref name="path"/> atomically (refused as <see cref="CheckOutput"/> says).</summary>
    public void Write(string path)
    {
        CheckOutput(path);
        if (!_metadata.Any(kv => kv.Key == "general.alignment"))
            _metadata.Insert(0, new("general.alignment", GgufValue.Of(DefaultAlignment)));
        uint alignment = (uint)_metadata.First(kv => kv.Key == "general.alignment").Value.AsInt64();
        if (alignment == 0 || (alignment & (alignment - 1)) != 0)
            throw new ArgumentException($"general.alignment must be a power of two, not {alignment}");
        AtomicFile.Write(path, stream =>
        {
            using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            w.Write("GGUF"u8);
            w.Write(3u);
            w.Write((ulong)_tensors.Count);
            w.Write((ulong)_metadata.Count);
            foreach (var (key, value) in _metadata)
            {
                WriteString(w, key);
                w.Write((uint)value.Type);
                WriteValue(w, value);
            }
            long offset = 0;
            var offsets = new long[_tensors.Count];
            for (int i = 0; i < _tensors.Count; i++)
            {
                var t = _tensors[i];
                offset = Align(offset, alignment);
                offsets[i] = offset;
                WriteString(w, t.Name);
                w.Write((uint)t.Dims.Length);
                foreach (long d in t.Dims) w.Write((ulong)d);
                w.Write((uint)t.Type);
                w.Write((ulong)offset);
                offset += t.Bytes;
            }
            w.Flush();
            Pad(w, stream.Position, alignment);
            long dataStart = stream.Position;
            foreach (var t in _tensors)
            {
                Pad(w, stream.Position - dataStart, alignment);
                WriteData(w, t.Name, t.Bytes, t.Encode);
            }
        });
    }

    /// <summary>One tensor's bytes, encoded now and checked against the size its header entry gave; not inlined, so nothing keeps them once written.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static void WriteData(BinaryWriter w, string name, long bytes, Func<byte[]> encode)
    {
        byte[] data = encode();
        if (data.Length != bytes) throw new InvalidOperationException($"{name}: encoded to {data.Length} bytes; its header entry says {bytes}");
        w.Write(data);
        w.Flush();
    }

    static long Align(long offset, uint alignment) => (offset + alignment - 1) / alignment * alignment;

    static void Pad(BinaryWriter w, long position, uint alignment)
    {
        w.Flush();
        long n = Align(position, alignment) - position;
        for (long i = 0; i < n; i++) w.Write((byte)0);
    }

    static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    static void WriteValue(BinaryWriter w, GgufValue value)
    {
        if (value.Type == GgufValueType.Array)
        {
            var array = (Array)value.Value;
            w.Write((uint)value.ElementType);
            w.Write((ulong)array.Length);
            foreach (var e in array) WriteScalar(w, value.ElementType, e!);
        }
        else WriteScalar(w, value.Type, value.Value);
    }

    static void WriteScalar(BinaryWriter w, GgufValueType type, object v)
    {
        switch (type)
        {
            case GgufValueType.UInt8: w.Write((byte)v); break;
            case GgufValueType.Int8: w.Write((sbyte)v); break;
            case GgufValueType.UInt16: w.Write((ushort)v); break;
            case GgufValueType.Int16: w.Write((short)v); break;
            case GgufValueType.UInt32: w.Write((uint)v); break;
            case GgufValueType.Int32: w.Write((int)v); break;
            case GgufValueType.Float32: w.Write((float)v); break;
            case GgufValueType.Bool: w.Write((bool)v ? (byte)1 : (byte)0); break;
            case GgufValueType.String: WriteString(w, (string)v); break;
            case GgufValueType.UInt64: w.Write((ulong)v); break;
            case GgufValueType.Int64: w.Write((long)v); break;
            case GgufValueType.Float64: w.Write((double)v); break;
            default: throw new ArgumentOutOfRangeException(nameof(type), type, "not a scalar GGUF type");
        }
    }
}
