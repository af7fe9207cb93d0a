using System.Globalization;
using QuantTune.Diagnostics;
using QuantTune.Quantization.Integer;
using QuantTune.Quantization.Packing;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Gptq;

/// <summary>
/// A GPTQ-quantized weight [out, in]: each row's input columns fall into groups (column j in
/// group g_idx[j]; with act-order the groups follow the quantization order, not the column
/// order), and each (row, group) has its own scale s and, asymmetric, zero point z:
/// w = (q − z)/s (absmax: q/s) with the integer quantizer's signed codes q. Stored tensors: ""
/// the codes offset by 2^(b-1) and packed by <see cref="BitPacker"/> (row-major), "scale" float32
/// [out, groups], "zero_point" float32 [out, groups] (zero point mode), "g_idx" int32 [in].
/// Metadata: bits, mode, group, groups, act_order, shape.
/// </summary>
public sealed class GptqTensor : QuantizedTensor
{
    readonly Dictionary<string, Tensor> tensors;

    internal GptqTensor(long[] shape, int bits, IntegerMode mode, int groupSize, bool actOrder, Tensor codes, Tensor scale, Tensor? zeroPoint, Tensor groupIndex)
        : base(shape)
    {
        Bits = bits;
        Mode = mode;
        GroupSize = groupSize;
        ActOrder = actOrder;
        Codes = codes;
        Scale = scale;
        ZeroPoint = zeroPoint;
        GroupIndex = groupIndex;
        tensors = new Dictionary<string, Tensor> { [""] = codes, ["scale"] = scale, ["g_idx"] = groupIndex };
        if (zeroPoint is not null) tensors["zero_point"] = zeroPoint;
    }

    public int Bits { get; }
    public IntegerMode Mode { get; }
    /// <summary>Columns per group, or -1 for one group per row.</summary>
    public int GroupSize { get; }
    public bool ActOrder { get; }
    /// <summary>Packed unsigned codes (1-D uint8), row-major over [out, in].</summary>
    public Tensor Codes { get; }
    /// <summary>s per (row, group): float32 [out, groups].</summary>
    public Tensor Scale { get; }
    /// <summary>z per (row, group): float32 [out, groups], integer-valued; null for absmax.</summary>
    public Tensor? ZeroPoint { get; }
    /// <summary>The group of each input column: int32 [in].</summary>
    public Tensor GroupIndex { get; }

    public long Rows => Shape[0];
    public long Columns => Shape[1];
    public long Groups => Scale.shape[1];

    internal static string SchemeName(int bits, IntegerMode mode, int groupSize, bool actOrder) =>
        $"gptq-int{bits}-{(mode == IntegerMode.Absmax ? "absmax" : "zeropoint")}-" +
        (groupSize == -1 ? "channel" : "g" + groupSize.ToString(CultureInfo.InvariantCulture)) + (actOrder ? "-actorder" : "");

    public override string Scheme => SchemeName(Bits, Mode, GroupSize, ActOrder);

    public override IReadOnlyDictionary<string, Tensor> Tensors => tensors;

    public override IReadOnlyDictionary<string, string> Metadata => new Dictionary<string, string>
    {
        ["bits"] = Bits.ToString(CultureInfo.InvariantCulture),
        ["mode"] = Mode == IntegerMode.Absmax ? "absmax" : "zeropoint",
        ["group"] = GroupSize.ToString(CultureInfo.InvariantCulture),
        ["groups"] = Groups.ToString(CultureInfo.InvariantCulture),
        ["act_order"] = ActOrder ? "true" : "false",
        ["shape"] = string.Join(",", Shape.Select(d => d.ToString(CultureInfo.InvariantCulture))),
    };

    /// <summary>Signed codes [count, in] (float32) of rows [start, start + count).</summary>
    internal Tensor SignedCodes(long start, long count)
    {
        using var scope = NewDisposeScope();
        Tensor unsigned;
        if (start * Columns % 8 == 0)
        {
            long first = BitPacker.PackedLength(start * Columns, Bits);
            var bytes = Codes.narrow(0, first, Codes.shape[0] - first);
            unsigned = BitPacker.Unpack(bytes, Bits, count * Columns);
        }
        else
        {
            unsigned = BitPacker.Unpack(Codes, Bits, (start + count) * Columns).narrow(0, start * Columns, count * Columns);
        }
        return unsigned.to_type(ScalarType.Float32).MinusInPlace(1 << (Bits - 1)).view(count, Columns).MoveToOuterDisposeScope();
    }

    /// <summary>w = (q − z[:, g_idx])/s[:, g_idx] (absmax: q/s) for codes q [rows, in] and the constants of those rows.</summary>
    internal static Tensor Reconstruct(Tensor q, Tensor scale, Tensor? zero, Tensor groupIndex)
    {
        using var scope = NewDisposeScope();
        var index = groupIndex.to_type(ScalarType.Int64);
        var s = scale.index_select(1, index);
        var d = zero is null ? q.div(s) : q.sub(zero.index_select(1, index)).div_(s);
        return d.MoveToOuterDisposeScope();
    }

    public override Tensor Dequantize(ScalarType dtype = ScalarType.Float32) => DequantizeRows(0, Rows, dtype);

    public override Tensor DequantizeRows(long start, long count, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        var d = Reconstruct(SignedCodes(start, count), Scale.narrow(0, start, count), ZeroPoint?.narrow(0, start, count), GroupIndex);
        return d.to_type(dtype).MoveToOuterDisposeScope();
    }

    public override QuantizedTensor To(Device device) =>
        new GptqTensor(Shape, Bits, Mode, GroupSize, ActOrder, Codes.to(device), Scale.to(device), ZeroPoint?.to(device), GroupIndex.to(device));

    /// <summary>Packs signed codes [out, in] (any real dtype, integer-valued) with their constants; the result owns new tensors.</summary>
    internal static GptqTensor FromCodes(Tensor signedCodes, Tensor scale, Tensor? zero, Tensor groupIndex, int bits, IntegerMode mode, int groupSize, bool actOrder)
    {
        using var scope = NewDisposeScope();
        var packed = BitPacker.Pack(signedCodes.to_type(ScalarType.Int64).Plus(1 << (bits - 1)), bits);
        var result = new GptqTensor((long[])signedCodes.shape.Clone(), bits, mode, groupSize, actOrder, packed,
            scale.to_type(ScalarType.Float32).contiguous(), zero?.to_type(ScalarType.Float32).contiguous(), groupIndex.to_type(ScalarType.Int32).contiguous());
        foreach (var t in result.tensors.Values) t.MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>Rebuilds a tensor from its stored entries and metadata, checking every dtype and size; it owns the given tensors.</summary>
    public static GptqTensor FromStorage(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> metadata, string where)
    {
        string Required(string key) => metadata.TryGetValue(key, out var v) ? v : throw new QuantTuneException($"{where}: metadata '{key}' is missing");
        int Int(string key) => int.TryParse(Required(key), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
            ? v : throw new QuantTuneException($"{where}: metadata '{key}' is '{metadata[key]}'; expected an integer");
        int bits = Int("bits");
        if (!GptqSettings.SupportedBits.Contains(bits))
            throw new QuantTuneException($"{where}: metadata 'bits' is {bits}; expected 2, 3, 4 or 8");
        var mode = Required("mode") switch
        {
            "absmax" => IntegerMode.Absmax,
            "zeropoint" => IntegerMode.ZeroPoint,
            var other => throw new QuantTuneException($"{where}: metadata 'mode' is '{other}'; expected absmax or zeropoint"),
        };
        int group = Int("group");
        long groups = Int("groups");
        var shape = Required("shape").Split(',').Select(d => long.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1).ToArray();
        if (shape.Length != 2 || shape.Any(d => d < 1))
            throw new QuantTuneException($"{where}: metadata 'shape' is '{metadata["shape"]}'; expected two positive integers (out, in)");
        Tensor Stored(string key, ScalarType dtype, long[] expected, string what)
        {
            if (!tensors.TryGetValue(key, out var t))
                throw new QuantTuneException($"{where}: stored tensor '{key}' is missing; expected {what}");
            if (t.dtype != dtype || t.numel() != expected.Aggregate(1L, (a, b) => a * b))
                throw new QuantTuneException($"{where}: stored tensor '{key}' is {t.dtype} [{string.Join(", ", t.shape)}]; expected {dtype} [{string.Join(", ", expected)}] ({what})");
            var shaped = t.reshape(expected);
            t.Dispose(); // the view keeps the storage alive
            return shaped;
        }
        var codes = Stored("", ScalarType.Byte, [BitPacker.PackedLength(shape[0] * shape[1], bits)], $"packed {bits}-bit codes");
        var scale = Stored("scale", ScalarType.Float32, [shape[0], groups], "float32 scales per row and group");
        var zero = mode == IntegerMode.ZeroPoint ? Stored("zero_point", ScalarType.Float32, [shape[0], groups], "float32 zero points per row and group") : null;
        var gIdx = Stored("g_idx", ScalarType.Int32, [shape[1]], "the group of each input column");
        CheckGroupIndex(gIdx, groups, where);
        return new GptqTensor(shape, bits, mode, group, Required("act_order") == "true", codes, scale, zero, gIdx);
    }

    /// <summary>Every g_idx entry must name one of the <paramref name="groups"/> groups.</summary>
    internal static void CheckGroupIndex(Tensor gIdx, long groups, string where)
    {
        if (gIdx.numel() == 0) return;
        long lo = gIdx.min().item<int>(), hi = gIdx.max().item<int>();
        if (lo < 0 || hi >= groups)
            throw new QuantTuneException($"{where}: g_idx holds group {(lo < 0 ? lo : hi)}; expected groups 0..{groups - 1}");
    }
}
