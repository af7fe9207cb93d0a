using System.Globalization;
using System.Text;
using System.Text.Json;
using QuantTune.Diagnostics;
using QuantTune.IO;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Quantization.FourBit;

/// <summary>
/// A weight in bitsandbytes 4-bit storage: packed codes ([bytes, 1] uint8), the per-block absmax
/// (fp32, or double-quantized uint8 with nested constants), the 16-value quant map, and the
/// quant_state JSON — the keys <c>Linear4bit</c> checkpoints carry under <c>weight.*</c>.
/// </summary>
public sealed class FourBitTensor : QuantizedTensor
{
    readonly Tensor _packed;
    readonly Tensor? _absmax;
    readonly Tensor _quantMap;
    readonly Tensor _stateJson;
    readonly Dictionary<string, Tensor> _tensors;
    readonly Dictionary<string, string> _metadata;

    public FourBitType Type { get; }
    public int BlockSize { get; }
    public ScalarType OriginalDType { get; }
    public NestedAbsmax? Nested { get; }
    public long Blocks => (ElementCount + BlockSize - 1) / BlockSize;

    public string StateKey => "quant_state.bitsandbytes__" + FourBitCodebooks.Name(Type);

    public FourBitTensor(long[] shape, FourBitType type, int blockSize, ScalarType originalDType,
        Tensor packed, Tensor? absmax, Tensor quantMap, NestedAbsmax? nested) : base(shape)
    {
        Type = type;
        BlockSize = blockSize;
        OriginalDType = originalDType;
        _packed = packed;
        _absmax = absmax;
        _quantMap = quantMap;
        Nested = nested;
        var state = new Dictionary<string, object>
        {
            ["quant_type"] = FourBitCodebooks.Name(type),
            ["blocksize"] = blockSize,
            ["dtype"] = TorchDTypeName(originalDType),
            ["shape"] = shape,
        };
        if (nested is not null)
        {
            state["nested_blocksize"] = nested.BlockSize;
            state["nested_offset"] = nested.Offset;
            state["nested_dtype"] = "float32";
        }
        _stateJson = tensor(JsonSerializer.SerializeToUtf8Bytes(state), device: packed.device);
        _tensors = new Dictionary<string, Tensor> { [""] = packed, ["absmax"] = nested?.Codes ?? absmax!, ["quant_map"] = quantMap };
        if (nested is not null)
        {
            _tensors["nested_absmax"] = nested.Constants;
            _tensors["nested_quant_map"] = nested.Map;
        }
        _tensors[StateKey] = _stateJson;
        _metadata = state.ToDictionary(kv => kv.Key, kv => kv.Value is long[] s ? string.Join(",", s) : Convert.ToString(kv.Value, CultureInfo.InvariantCulture)!);
    }

    public override string Scheme => $"{FourBitCodebooks.Name(Type)}-block{BlockSize}" + (Nested is null ? "" : "-dq");
    public override IReadOnlyDictionary<string, Tensor> Tensors => _tensors;
    public override IReadOnlyDictionary<string, string> Metadata => _metadata;

    /// <summary>The fp32 absmax of blocks [start, start + count), undoing double quantization.</summary>
    public Tensor Absmax(long start, long count) =>
        Nested?.Dequantize(start, count) ?? _absmax!.narrow(0, start, count).to_type(ScalarType.Float32);

    public override Tensor Dequantize(ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        return DequantizeElements(0, ElementCount).view(Shape).to_type(dtype).MoveToOuterDisposeScope();
    }

    /// <summary>Rows [start, start + count) of a 2-D weight, dequantizing only the blocks they cover.</summary>
    public override Tensor DequantizeRows(long start, long count, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        long columns = Shape[^1];
        return DequantizeElements(start * columns, count * columns).view(count, columns).to_type(dtype).MoveToOuterDisposeScope();
    }

    Tensor DequantizeElements(long first, long count)
    {
        using var scope = NewDisposeScope();
        long b0 = first / BlockSize, b1 = Math.Min(Blocks, (first + count + BlockSize - 1) / BlockSize);
        long e0 = b0 * BlockSize, e1 = Math.Min(b1 * BlockSize, ElementCount);
        // Blocks start at even elements (B is a power of two), so byte e0/2 starts with element e0.
        var bytes = _packed.flatten().narrow(0, e0 / 2, (e1 - e0 + 1) / 2);
        // One lookup per byte gives both of its values (high nibble first).
        var values = PairTable().index_select(0, bytes.to_type(ScalarType.Int32)).flatten().narrow(0, 0, e1 - e0);
        var absmax = Absmax(b0, b1 - b0);
        long full = (e1 - e0) / BlockSize * BlockSize;
        var scaled = values.narrow(0, 0, full).view(-1, BlockSize).mul(absmax.narrow(0, 0, full / BlockSize).unsqueeze(1)).flatten();
        if (full < e1 - e0) scaled = cat([scaled, values.narrow(0, full, e1 - e0 - full) * absmax[-1]]);
        return scaled.narrow(0, first - e0, count).MoveToOuterDisposeScope();
    }

    Tensor? _pairTable;

    /// <summary>[256, 2]: the two code values of every possible byte.</summary>
    Tensor PairTable()
    {
        if (_pairTable is null)
        {
            using var scope = NewDisposeScope();
            var map = _quantMap.to_type(ScalarType.Float32);
            var b = PinnedScalarMath.Arange(256, ScalarType.Int64, map.device);
            _pairTable = stack([map.index_select(0, b.bitwise_right_shift(4)), map.index_select(0, b.bitwise_and(15))], 1).DetachFromDisposeScope();
        }
        return _pairTable;
    }

    public override QuantizedTensor To(Device device)
    {
        var nested = Nested is null ? null : Nested with { Codes = Nested.Codes.to(device), Constants = Nested.Constants.to(device), Map = Nested.Map.to(device) };
        return new FourBitTensor(Shape, Type, BlockSize, OriginalDType, _packed.to(device), _absmax?.to(device), _quantMap.to(device), nested);
    }

    public override void Dispose()
    {
        base.Dispose();
        _absmax?.Dispose();
        _pairTable?.Dispose();
    }

    static string TorchDTypeName(ScalarType t) => t switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        _ => throw new NotSupportedException($"4-bit weights record float dtypes only, not {t}"),
    };

    /// <summary>
    /// Rebuilds a tensor from a <c>Linear4bit</c> checkpoint's entries for one weight (keys relative
    /// to the weight: "" for the packed data, "absmax", "quant_map", ..., "quant_state.bitsandbytes__nf4").
    /// <paramref name="where"/> names the file and weight for error messages.
    /// </summary>
    public static FourBitTensor FromStorage(IReadOnlyDictionary<string, Tensor> entries, string where)
    {
        var stateKey = entries.Keys.FirstOrDefault(k => k.StartsWith("quant_state.bitsandbytes__", StringComparison.Ordinal))
            ?? throw new InvalidFormatException(where, "weight.quant_state.bitsandbytes__nf4", "is missing; expected the 4-bit quant state (a JSON string stored as uint8)");
        JsonElement state;
        try
        {
            var bytes = entries[stateKey].to_type(ScalarType.Byte).cpu().bytes.ToArray();
            state = JsonDocument.Parse(Encoding.UTF8.GetString(bytes)).RootElement.Clone();
        }
        catch (JsonException e) { throw new InvalidFormatException(where, "weight." + stateKey, $"is not valid JSON ({e.Message})", e); }
        string F(string field) => $"weight.{stateKey}.{field}";
        // Fields are named under the state's key; the state itself (a root that is not an object) by the key alone.
        var json = new JsonField(where, state, (file, field, problem) => new InvalidFormatException(file, string.IsNullOrEmpty(field) ? "weight." + stateKey : F(field), problem));
        string typeName = json.String("quant_type");
        var type = typeName switch
        {
            "nf4" => FourBitType.NF4,
            "fp4" => FourBitType.FP4,
            _ => throw new InvalidFormatException(where, F("quant_type"), $"'{typeName}'; expected nf4 or fp4"),
        };
        if (stateKey != "quant_state.bitsandbytes__" + typeName)
            throw new InvalidFormatException(where, "weight." + stateKey, $"says quant_type '{typeName}', which disagrees with its key");
        int blockSize = json.Int("blocksize");
        if (blockSize <= 0 || (blockSize & (blockSize - 1)) != 0)
            throw new InvalidFormatException(where, F("blocksize"), $"{blockSize}; expected a power of two");
        var shape = json.Required("shape", "an array of sizes").Items().Select(d => (long)d.GetInt32()).ToArray();
        long n = 1;
        foreach (var d in shape)
        {
            if (d < 1) throw new InvalidFormatException(where, F("shape"), $"[{string.Join(", ", shape)}] holds {d}; expected sizes of at least 1");
            if (n > MaxElements / d) throw new InvalidFormatException(where, F("shape"), $"[{string.Join(", ", shape)}] has more than {MaxElements:N0} elements");
            n *= d;
        }
        var dtypeName = json.String("dtype");
        var dtype = TorchRuntime.TryParseDType(dtypeName)
            ?? throw new InvalidFormatException(where, F("dtype"), $"is '{dtypeName}'; expected float32, bfloat16 or float16");
        long blocks = (n + blockSize - 1) / blockSize;

        Tensor Need(string key, long elements)
        {
            if (!entries.TryGetValue(key, out var t))
                throw new InvalidFormatException(where, key == "" ? "weight" : "weight." + key, "is missing; the 4-bit weight cannot be dequantized without it");
            if (t.numel() != elements)
                throw new InvalidFormatException(where, key == "" ? "weight" : "weight." + key, $"has {t.numel()} elements; expected {elements} for shape [{string.Join(", ", shape)}] in blocks of {blockSize}");
            return t;
        }

        var packed = Need("", (n + 1) / 2);
        var quantMap = Need("quant_map", 16).to_type(ScalarType.Float32);
        var absmax = Need("absmax", blocks);
        NestedAbsmax? nested = null;
        if (state.TryGetProperty("nested_blocksize", out _))
        {
            int nestedBlock = json.Int("nested_blocksize");
            if (nestedBlock < 1) throw new InvalidFormatException(where, F("nested_blocksize"), $"is {nestedBlock}; expected at least 1");
            var offset = (float)json.Required("nested_offset", "a number").GetDouble();
            var nestedAbsmax = Need("nested_absmax", (blocks + nestedBlock - 1) / nestedBlock).to_type(ScalarType.Float32);
            var nestedMap = Need("nested_quant_map", 256).to_type(ScalarType.Float32);
            if (absmax.dtype != ScalarType.Byte)
                throw new InvalidFormatException(where, "weight.absmax", $"is {absmax.dtype}; double-quantized absmax must be uint8 codes");
            nested = new NestedAbsmax(absmax, nestedAbsmax, nestedMap, nestedBlock, offset);
            return new FourBitTensor(shape, type, blockSize, dtype, packed.to_type(ScalarType.Byte), null, quantMap, nested);
        }
        return new FourBitTensor(shape, type, blockSize, dtype, packed.to_type(ScalarType.Byte), absmax.to_type(ScalarType.Float32), quantMap, null);
    }

    /// <summary>The most elements a 4-bit weight's recorded shape may describe (far above any model's layer).</summary>
    const long MaxElements = 1L << 40;
}
