using QuantTune.Diagnostics;

namespace QuantTune.Formats.Gguf;

/// <summary>
/// An open GGUF file (versions 2 and 3): its metadata and tensor infos, parsed with a bounds check on
/// every read, and its tensor data read on demand. Any malformation is an
/// <see cref="InvalidFormatException"/> naming the file and the field.
/// </summary>
public sealed class GgufFile : IDisposable
{
    /// <summary>ggml's GGML_MAX_DIMS.</summary>
    public const int MaxDims = 4;

    readonly FileStream _stream;

    GgufFile(string path, FileStream stream, uint version, IReadOnlyDictionary<string, GgufValue> metadata,
        IReadOnlyList<GgufTensorInfo> tensors, long dataStart, uint alignment)
    {
        Path = path;
        _stream = stream;
        Version = version;
        Metadata = metadata;
        Tensors = tensors;
        DataStart = dataStart;
        Alignment = alignment;
        TensorsByName = tensors.ToDictionary(t => t.Name);
    }

    public string Path { get; }
    public uint Version { get; }
    public IReadOnlyDictionary<string, GgufValue> Metadata { get; }
    /// <summary>Tensor infos in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }
    public IReadOnlyDictionary<string, GgufTensorInfo> TensorsByName { get; }
    /// <summary>File offset of the data section (tensor offsets are relative to it).</summary>
    public long DataStart { get; }
    public uint Alignment { get; }

    public static GgufFile Open(string path)
    {
        if (!File.Exists(path)) throw new QuantTuneException($"{path}: file not found; expected a GGUF file");
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try { return Parse(path, stream); }
        catch { stream.Dispose(); throw; }
    }

    /// <summary>The four bytes every GGUF file starts with.</summary>
    static ReadOnlySpan<byte> Magic => "GGUF"u8;

    /// <summary>Whether the file at <paramref name="path"/> starts with GGUF's magic (false when it cannot be read).</summary>
    public static bool StartsWithMagic(string path)
    {
        try
        {
            using var f = File.OpenRead(path);
            Span<byte> head = stackalloc byte[4];
            return f.Read(head) == 4 && head.SequenceEqual(Magic);
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    static GgufFile Parse(string path, FileStream stream)
    {
        var c = new GgufCursor(stream, path);
        if (c.Length < 4) throw c.Invalid("magic", $"the file has {c.Length} bytes; a GGUF file starts with the 4-byte magic \"GGUF\"");
        var magic = c.ReadBytes(4, "magic");
        if (!magic.AsSpan().SequenceEqual(Magic))
            throw c.Invalid("magic", $"is {Convert.ToHexString(magic)}; expected \"GGUF\" (47475546): this is not a GGUF file");
        uint version = c.U32("version");
        if (version is not (2 or 3))
            throw c.Invalid("version", $"{version} is not supported; expected 2 or 3");
        ulong tensorCount = c.U64("tensor_count");
        ulong kvCount = c.U64("metadata_kv_count");
        // Each KV takes at least 13 bytes (key length, type, one byte); each tensor info at least 24.
        if (kvCount > (ulong)c.Remaining / 13)
            throw c.Invalid("metadata_kv_count", $"{kvCount} entries cannot fit in the {c.Remaining} bytes left");
        if (tensorCount > (ulong)c.Remaining / 24)
            throw c.Invalid("tensor_count", $"{tensorCount} tensors cannot fit in the {c.Remaining} bytes left");

        var metadata = new Dictionary<string, GgufValue>(StringComparer.Ordinal);
        for (ulong i = 0; i < kvCount; i++)
        {
            string key = c.String($"metadata[{i}].key");
            uint type = c.U32($"{key}.type");
            var value = ReadValue(c, type, key);
            if (!metadata.TryAdd(key, value)) throw c.Invalid(key, "appears twice");
        }

        uint alignment = GgufWriter.DefaultAlignment;
        if (metadata.TryGetValue("general.alignment", out var a))
        {
            if (a.Type != GgufValueType.UInt32) throw c.Invalid("general.alignment", $"is a {a.Type}; expected a UInt32");
            alignment = (uint)a.Value;
            if (alignment == 0 || (alignment & (alignment - 1)) != 0)
                throw c.Invalid("general.alignment", $"{alignment} is not a power of two");
        }

        var infos = new List<(string Name, long[] Dims, GgmlType Type, ulong Offset)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (ulong i = 0; i < tensorCount; i++)
        {
            string name = c.String($"tensor[{i}].name");
            if (!names.Add(name)) throw c.Invalid(name, "tensor name appears twice");
            uint nDims = c.U32($"{name}.n_dimensions");
            if (nDims > MaxDims) throw c.Invalid($"{name}.n_dimensions", $"{nDims} exceeds ggml's limit of {MaxDims}");
            var dims = new long[nDims];
            for (int d = 0; d < nDims; d++)
            {
                ulong v = c.U64($"{name}.dimensions[{d}]");
                if (v > int.MaxValue) throw c.Invalid($"{name}.dimensions[{d}]", $"{v} is too large");
                dims[d] = (long)v;
            }
            uint type = c.U32($"{name}.type");
            if (!GgmlTypes.IsSupported(type))
                throw c.Invalid($"{name}.type", $"{type} is not a supported ggml type; expected one of {string.Join(", ", Enum.GetValues<GgmlType>().Select(t => $"{t} ({(uint)t})"))}");
            ulong offset = c.U64($"{name}.offset");
            infos.Add((name, dims, (GgmlType)type, offset));
        }

        long dataStart = (c.Position + alignment - 1) / alignment * alignment;
        long dataSize = Math.Max(0, c.Length - dataStart);
        var tensors = new List<GgufTensorInfo>();
        foreach (var (name, dims, type, offset) in infos)
        {
            long elements;
            try { elements = dims.Aggregate(1L, (x, d) => checked(x * d)); }
            catch (OverflowException) { throw c.Invalid($"{name}.dimensions", $"[{string.Join(", ", dims)}] is too large"); }
            long? bytes = type.ByteCount(elements);
            if (bytes is null || (dims.Length > 0 && dims[0] % type.BlockSize() != 0))
                throw c.Invalid($"{name}.dimensions", $"rows of [{string.Join(", ", dims)}] are not a whole number of {type} blocks ({type.BlockSize()})");
            if (offset % alignment != 0)
                throw c.Invalid($"{name}.offset", $"{offset} is not a multiple of the alignment {alignment}");
            if (offset > (ulong)dataSize || (ulong)bytes.Value > (ulong)dataSize - offset)
                throw c.Invalid($"{name}.offset", $"{bytes} bytes at data offset {offset} run beyond the file (data section of {dataSize} bytes): the file is truncated or the offset is wrong");
            tensors.Add(new GgufTensorInfo(name, dims, type, (long)offset));
        }
        return new GgufFile(path, stream, version, metadata, tensors, dataStart, alignment);
    }

    static GgufValue ReadValue(GgufCursor c, uint type, string key)
    {
        if (type == (uint)GgufValueType.Array)
        {
            uint elementType = c.U32($"{key}.element_type");
            if (elementType == (uint)GgufValueType.Array)
                throw c.Invalid($"{key}.element_type", "nested arrays are not supported");
            if (!Enum.IsDefined(typeof(GgufValueType), elementType))
                throw c.Invalid($"{key}.element_type", $"{elementType} is not a GGUF value type");
            ulong count = c.U64($"{key}.count");
            var et = (GgufValueType)elementType;
            ulong minBytes = (ulong)MinSize(et);
            if (count > (ulong)c.Remaining / minBytes)
                throw c.Invalid($"{key}.count", $"{count} elements of {et} need at least {count}×{minBytes} bytes, but only {c.Remaining} remain");
            var array = Array.CreateInstance(GgufValue.ClrType(et), (long)count);
            for (long i = 0; i < (long)count; i++) array.SetValue(ReadScalar(c, et, $"{key}[{i}]"), i);
            return new GgufValue(GgufValueType.Array, array, et);
        }
        if (!Enum.IsDefined(typeof(GgufValueType), type))
            throw c.Invalid($"{key}.type", $"{type} is not a GGUF value type");
        var t = (GgufValueType)type;
        return new GgufValue(t, ReadScalar(c, t, key));
    }

    static int MinSize(GgufValueType t) => t switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        _ => 8,
    };

    static object ReadScalar(GgufCursor c, GgufValueType t, string field) => t switch
    {
        GgufValueType.UInt8 => c.U8(field),
        GgufValueType.Int8 => unchecked((sbyte)c.U8(field)),
        GgufValueType.UInt16 => c.U16(field),
        GgufValueType.Int16 => unchecked((short)c.U16(field)),
        GgufValueType.UInt32 => c.U32(field),
        GgufValueType.Int32 => unchecked((int)c.U32(field)),
        GgufValueType.Float32 => c.F32(field),
        GgufValueType.Bool => c.U8(field) switch
        {
            0 => false,
            1 => true,
            var b => throw c.Invalid(field, $"bool byte {b} is neither 0 nor 1"),
        },
        GgufValueType.String => c.String(field),
        GgufValueType.UInt64 => c.U64(field),
        GgufValueType.Int64 => unchecked((long)c.U64(field)),
        GgufValueType.Float64 => c.F64(field),
        _ => throw c.Invalid(field, $"{t} is not a scalar type"),
    };

    // ---- typed metadata: a value of another type than the key's is an error naming the key ----

    /// <summary>The string under <paramref name="key"/>, or null when absent.</summary>
    public string? OptionalString(string key) => Metadata.TryGetValue(key, out var v)
        ? v.Value as string ?? throw WrongType(key, v, "a string")
        : null;

    /// <summary>The string under <paramref name="key"/>; absent is an error saying <paramref name="why"/> it is needed.</summary>
    public string RequiredString(string key, string why) =>
        OptionalString(key) ?? throw new InvalidFormatException(Path, key, $"is missing; {why}");

    /// <summary>The integer (of any GGUF integer width) under <paramref name="key"/> within [min, max], or null when absent.</summary>
    public long? OptionalInteger(string key, long min = long.MinValue, long max = long.MaxValue)
    {
        if (!Metadata.TryGetValue(key, out var v)) return null;
        long value = v.Value switch
        {
            byte b => b, sbyte b => b, ushort b => b, short b => b, uint b => b, int b => b, long b => b,
            ulong b when b <= long.MaxValue => (long)b,
            ulong b => throw new InvalidFormatException(Path, key, $"{b} is too large; expected {min} to {max}"),
            _ => throw WrongType(key, v, "an integer"),
        };
        if (value < min || value > max) throw new InvalidFormatException(Path, key, $"is {value}; expected {min} to {max}");
        return value;
    }

    /// <summary>The number (float or integer) under <paramref name="key"/>, or null when absent.</summary>
    public double? OptionalNumber(string key) => Metadata.TryGetValue(key, out var v)
        ? v.Value switch { float f => f, double d => d, bool => throw WrongType(key, v, "a number"), string or Array => throw WrongType(key, v, "a number"), _ => OptionalInteger(key) }
        : null;

    /// <summary>The bool under <paramref name="key"/>, or null when absent.</summary>
    public bool? OptionalBool(string key) => Metadata.TryGetValue(key, out var v)
        ? v.Value as bool? ?? throw WrongType(key, v, "a bool")
        : null;

    /// <summary>The array of <paramref name="elementType"/> under <paramref name="key"/>, or null when absent.</summary>
    public T[]? OptionalArray<T>(string key, GgufValueType elementType) => Metadata.TryGetValue(key, out var v)
        ? v.Type == GgufValueType.Array && v.ElementType == elementType && v.Value is T[] a ? a : throw WrongType(key, v, $"an array of {elementType}")
        : null;

    InvalidFormatException WrongType(string key, GgufValue v, string expected) =>
        new(Path, key, $"is {(v.Type == GgufValueType.Array ? $"an array of {v.ElementType}" : $"a {v.Type}")}; expected {expected}");

    /// <summary>The raw (encoded) bytes of tensor <paramref name="name"/>.</summary>
    public byte[] ReadTensorBytes(string name)
    {
        var info = Info(name);
        long n = info.ByteLength;
        if (n > Array.MaxLength) throw new InvalidFormatException(Path, name, $"{n} bytes is too large to read into one array");
        var bytes = new byte[n];
        lock (_stream)
        {
            _stream.Position = DataStart + info.Offset;
            _stream.ReadExactly(bytes);
        }
        return bytes;
    }

    /// <summary>Tensor <paramref name="name"/> decoded to float32 (row-major, PyTorch order <see cref="GgufTensorInfo.Shape"/>).</summary>
    public float[] ReadTensor(string name) => GgmlCodec.Dequantize(Info(name).Type, ReadTensorBytes(name), checked((int)Info(name).ElementCount));

    GgufTensorInfo Info(string name) =>
        TensorsByName.TryGetValue(name, out var info) ? info : throw new KeyNotFoundException($"{Path}: no tensor named '{name}'");

    public void Dispose() => _stream.Dispose();
}
