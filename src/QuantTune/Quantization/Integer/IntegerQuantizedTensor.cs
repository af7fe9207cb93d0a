using System.Globalization;
using QuantTune.Diagnostics;
using QuantTune.Quantization.Packing;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Integer;

/// <summary>
/// A tensor in uniform integer storage. Stored tensors: "" the codes, offset by 2^(b-1) to
/// unsigned and packed by <see cref="BitPacker"/> (only the real elements; block padding is not
/// stored); "scale" one float32 per group; "zero_point" one float32 per group in zero-point mode.
/// Zero points are integers but kept as float32: for a group that does not contain 0 (e.g. all
/// positive) z = round(−s·min) − 2^(b-1) is not bounded by the code range, and float32 holds every
/// integer up to 2^24 exactly; they cost 32 bits per group and <see cref="QuantizedTensor.StorageBytes"/> counts them.
/// Metadata: bits, mode, granularity, block, shape, padding and, when clipped, clip.
/// </summary>
public sealed class IntegerQuantizedTensor : QuantizedTensor
{
    readonly Dictionary<string, Tensor> tensors;

    internal IntegerQuantizedTensor(long[] shape, int bits, IntegerMode mode, Granularity granularity, int blockSize, string? clipping,
        Tensor codes, Tensor scale, Tensor? zeroPoint) : base(shape)
    {
        Bits = bits;
        Mode = mode;
        Granularity = granularity;
        BlockSize = blockSize;
        Clipping = clipping;
        Layout = GroupLayout.For(shape, granularity, blockSize);
        Codes = codes;
        Scale = scale;
        ZeroPoint = zeroPoint;
        tensors = new Dictionary<string, Tensor> { [""] = codes, ["scale"] = scale };
        if (zeroPoint is not null) tensors["zero_point"] = zeroPoint;
    }

    /// <summary>Bits per code, 2..8.</summary>
    public int Bits { get; }

    /// <summary>Symmetric (absmax) or asymmetric (zero point).</summary>
    public IntegerMode Mode { get; }

    /// <summary>Which elements share a scale.</summary>
    public Granularity Granularity { get; }

    /// <summary>Elements per block for <see cref="Integer.Granularity.Block"/>; 0 otherwise.</summary>
    public int BlockSize { get; }

    /// <summary>The name of the calibrator that chose the clip ranges, or null for plain min/max. Informational: dequantizing does not need it.</summary>
    public string? Clipping { get; }

    /// <summary>Groups, group size and padding of the last block.</summary>
    public GroupLayout Layout { get; }

    /// <summary>The packed codes (1-D uint8).</summary>
    public Tensor Codes { get; }

    /// <summary>Scales s per group (float32 [groups]); a value is code/s (absmax) or (code − z)/s.</summary>
    public Tensor Scale { get; }

    /// <summary>Zero points z per group (float32 [groups], integer-valued), or null in absmax mode.</summary>
    public Tensor? ZeroPoint { get; }

    /// <inheritdoc/>
    public override string Scheme
    {
        get
        {
            var mode = Mode == IntegerMode.Absmax ? "absmax" : "zeropoint";
            var name = $"int{Bits}-{mode}-{IntegerScheme.GranularityName(Granularity, BlockSize)}";
            return Clipping is null ? name : $"{name}-clip-{Clipping}";
        }
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, Tensor> Tensors => tensors;

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> Metadata
    {
        get
        {
            var inv = CultureInfo.InvariantCulture;
            var m = new Dictionary<string, string>
            {
                ["bits"] = Bits.ToString(inv),
                ["mode"] = Mode == IntegerMode.Absmax ? "absmax" : "zeropoint",
                ["granularity"] = Granularity.ToString().ToLowerInvariant(),
                ["block"] = BlockSize.ToString(inv),
                ["shape"] = string.Join(",", Shape.Select(d => d.ToString(inv))),
                ["padding"] = Layout.Padding.ToString(inv),
            };
            if (Clipping is not null) m["clip"] = Clipping;
            return m;
        }
    }

    /// <inheritdoc/>
    public override Tensor Dequantize(ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        var q = BitPacker.Unpack(Codes, Bits, Layout.Elements).to_type(ScalarType.Float32).MinusInPlace(1 << (Bits - 1));
        if (Layout.Padding > 0) q = cat(new[] { q, zeros(Layout.Padding, ScalarType.Float32, q.device) }, 0);
        var d = IntegerMath.Dequantize(q.view(Layout.Groups, Layout.GroupSize), Scale, ZeroPoint);
        return d.flatten().narrow(0, 0, Layout.Elements).reshape(Shape).to_type(dtype).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    /// <remarks>Returns a new tensor that owns copies (or aliases) of the stored tensors on <paramref name="device"/>; this one stays valid.</remarks>
    public override QuantizedTensor To(Device device) =>
        new IntegerQuantizedTensor(Shape, Bits, Mode, Granularity, BlockSize, Clipping, Codes.to(device), Scale.to(device), ZeroPoint?.to(device));

    /// <summary>
    /// Rebuilds a tensor from its stored <paramref name="tensors"/> and <paramref name="metadata"/>
    /// (as <see cref="Tensors"/> and <see cref="Metadata"/> gave them), checking that every constant
    /// is present with the dtype and size the metadata implies. The result owns the given tensors.
    /// <paramref name="name"/> (e.g. the weight's name) prefixes error messages.
    /// </summary>
    public static IntegerQuantizedTensor FromStorage(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> metadata, string? name = null)
    {
        var where = name is null ? "quantized tensor" : $"quantized tensor '{name}'";
        int bits = ParseInt(metadata, "bits", where);
        var mode = Required(metadata, "mode", where) switch
        {
            "absmax" => IntegerMode.Absmax,
            "zeropoint" => IntegerMode.ZeroPoint,
            var other => throw new QuantTuneException($"{where}: metadata 'mode' is '{other}'; expected absmax or zeropoint"),
        };
        var granularity = Required(metadata, "granularity", where) switch
        {
            "tensor" => Granularity.Tensor,
            "channel" => Granularity.Channel,
            "block" => Granularity.Block,
            var other => throw new QuantTuneException($"{where}: metadata 'granularity' is '{other}'; expected tensor, channel or block"),
        };
        int block = granularity == Granularity.Block ? ParseInt(metadata, "block", where) : 0;
        var shapeText = Required(metadata, "shape", where);
        long[] shape;
        try
        {
            shape = shapeText.Length == 0 ? [] : shapeText.Split(',').Select(d => long.Parse(d, NumberStyles.None, CultureInfo.InvariantCulture)).ToArray();
        }
        catch (FormatException e)
        {
            throw new QuantTuneException($"{where}: metadata 'shape' is '{shapeText}'; expected comma-separated non-negative integers", e);
        }
        catch (OverflowException e)
        {
            throw new QuantTuneException($"{where}: metadata 'shape' is '{shapeText}'; expected comma-separated non-negative integers", e);
        }

        GroupLayout layout;
        try
        {
            new IntegerScheme(bits, mode, granularity, block).Validate();
            layout = GroupLayout.For(shape, granularity, block);
        }
        catch (InvalidSettingException e)
        {
            // The values came from the file's metadata, not from a caller's settings.
            string key = e.Setting == "IntegerScheme.BlockSize" ? "block" : e.Setting[(e.Setting.LastIndexOf('.') + 1)..].ToLowerInvariant();
            throw new QuantTuneException($"{where}: metadata '{key}' is '{e.Value}': {e.Problem}", e);
        }
        catch (QuantTuneException e)
        {
            throw new QuantTuneException($"{where}: {e.Message}", e);
        }
        if (metadata.TryGetValue("padding", out var paddingText) && paddingText != layout.Padding.ToString(CultureInfo.InvariantCulture))
            throw new QuantTuneException($"{where}: metadata 'padding' is '{paddingText}'; blocks of {block} over {layout.Elements} elements need {layout.Padding}");

        var codes = Stored(tensors, "", ScalarType.Byte, BitPacker.PackedLength(layout.Elements, bits),
            $"packed {bits}-bit codes of {layout.Elements} elements", where);
        var scale = Stored(tensors, "scale", ScalarType.Float32, layout.Groups, "float32 scales, one per group", where);
        Tensor? zero = null;
        if (mode == IntegerMode.ZeroPoint)
            zero = Stored(tensors, "zero_point", ScalarType.Float32, layout.Groups, "float32 zero points, one per group", where);
        else if (tensors.ContainsKey("zero_point"))
            throw new QuantTuneException($"{where}: stored tensor 'zero_point' is present but metadata 'mode' is absmax; expected no zero points");
        metadata.TryGetValue("clip", out var clip);
        return new IntegerQuantizedTensor(shape, bits, mode, granularity, block, clip, codes, scale, zero);
    }

    static string Required(IReadOnlyDictionary<string, string> metadata, string key, string where) =>
        metadata.TryGetValue(key, out var v) ? v : throw new QuantTuneException($"{where}: metadata '{key}' is missing");

    static int ParseInt(IReadOnlyDictionary<string, string> metadata, string key, string where)
    {
        var text = Required(metadata, key, where);
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new QuantTuneException($"{where}: metadata '{key}' is '{text}'; expected a non-negative integer");
    }

    /// <summary>The stored tensor <paramref name="key"/> flattened, after checking its dtype and element count.</summary>
    static Tensor Stored(IReadOnlyDictionary<string, Tensor> tensors, string key, ScalarType dtype, long count, string what, string where)
    {
        if (!tensors.TryGetValue(key, out var t))
            throw new QuantTuneException($"{where}: stored tensor '{key}' is missing; expected {count} {what}");
        if (t.dtype != dtype)
            throw new QuantTuneException($"{where}: stored tensor '{key}' has dtype {t.dtype}; expected {dtype} ({what})");
        if (t.numel() != count)
            throw new QuantTuneException($"{where}: stored tensor '{key}' has {t.numel()} elements; expected {count} {what}");
        return t.dim() == 1 ? t : t.flatten();
    }
}
