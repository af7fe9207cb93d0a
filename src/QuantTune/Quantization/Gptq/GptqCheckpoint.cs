using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.Quantization.Integer;
using QuantTune.Quantization.Layers;
using QuantTune.Quantization.Models;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Gptq;

/// <summary>What config.json's <c>quantization_config</c> says about a GPTQ checkpoint.</summary>
/// <param name="ZeroOffset">What is added to a stored zero: 1 in the "gptq" (v1) format, which stores zero − 1; 0 in "gptq_v2".</param>
public sealed record GptqLayout(int Bits, int GroupSize, bool DescAct, bool Sym, int ZeroOffset);

/// <summary>
/// The GPTQ checkpoint layout that AutoGPTQ, GPTQModel and transformers load: per quantized linear
/// <c>qweight</c> int32 [in·b/32, out] (codes packed along the input dimension, see
/// <see cref="GptqPacking"/>), <c>qzeros</c> int32 [groups, out·b/32] (zero points, minus 1 in the v1
/// "gptq" format), <c>scales</c> fp16 [groups, out] (w = scale·(q − zero)), <c>g_idx</c> int32 [in];
/// every other weight in fp16; config.json with a <c>quantization_config</c> of quant_method "gptq".
/// </summary>
public static class GptqCheckpoint
{
    /// <summary>AutoGPTQ's copy of the quantization settings, written beside config.json.</summary>
    public const string ConfigFile = "quantize_config.json";

    /// <summary>
    /// Writes a model whose linears hold <see cref="GptqTensor"/>s as a GPTQ checkpoint folder: the v1
    /// "gptq" format, which stores zero − 1, unless an asymmetric group has the zero point 0 (its
    /// weights are all ≥ 0), which only the "gptq_v2" format (zeros stored as they are) can hold.
    /// </summary>
    public static void Save(nn.Module model, string sourceDirectory, string outputDirectory, GptqSettings settings)
    {
        var layers = model.named_modules().Where(m => m.module is QuantizedLinear).Select(m => (m.name, (QuantizedLinear)m.module)).ToList();
        if (layers.Count == 0) throw new QuantTuneException("GPTQ export: the model has no quantized layer to save");
        foreach (var (name, layer) in layers)
        {
            if (layer.Weight is not GptqTensor t)
                throw new QuantTuneException($"GPTQ export: '{name}' holds a {layer.Weight.Scheme} weight; the GPTQ layout stores GPTQ weights only");
            if (t.Bits != settings.Bits || t.GroupSize != settings.GroupSize)
                throw new QuantTuneException($"GPTQ export: '{name}' is {t.Scheme}; the checkpoint is {settings.Bits}-bit with group {settings.GroupSize}");
        }
        int zeroOffset = layers.Any(l => SmallestZero((GptqTensor)l.Item2.Weight) < 1) ? 0 : 1;
        var quantization = new JsonObject
        {
            ["quant_method"] = "gptq",
            ["bits"] = settings.Bits,
            ["group_size"] = settings.GroupSize,
            ["damp_percent"] = settings.Damp,
            ["desc_act"] = settings.ActOrder,
            ["static_groups"] = false,
            ["sym"] = settings.Mode == IntegerMode.Absmax,
            ["true_sequential"] = settings.TrueSequential,
            ["checkpoint_format"] = zeroOffset == 1 ? "gptq" : "gptq_v2",
        };
        var config = QuantizedCheckpoint.ReadConfig(sourceDirectory);
        config["quantization_config"] = quantization.DeepClone();
        config["torch_dtype"] = "float16";
        if (config.ContainsKey("dtype")) config["dtype"] = "float16";
        using var scope = NewDisposeScope();
        var entries = new List<KeyValuePair<string, Tensor>>();
        foreach (var (name, p) in model.named_parameters())
            entries.Add(new(name, p.detach().to_type(ScalarType.Float16)));
        foreach (var (name, layer) in layers)
            entries.AddRange(Entries(name, (GptqTensor)layer.Weight, zeroOffset));
        QuantizedCheckpoint.WriteFolder(sourceDirectory, outputDirectory, config, entries,
            new Dictionary<string, JsonObject> { [ConfigFile] = quantization });
    }

    /// <summary>The unsigned zero points [rows, groups] of a weight: the symmetric grid's is 2^(b-1).</summary>
    static Tensor UnsignedZeros(GptqTensor weight)
    {
        long half = 1L << (weight.Bits - 1);
        return weight.ZeroPoint is null
            ? PinnedScalarMath.Full([weight.Rows, weight.Groups], half, ScalarType.Int64)
            : weight.ZeroPoint.to_type(ScalarType.Int64).Plus(half);
    }

    static long SmallestZero(GptqTensor weight)
    {
        using var zeros = UnsignedZeros(weight);
        return zeros.min().item<long>();
    }

    /// <summary>
    /// qweight, qzeros, scales and g_idx of one linear at <paramref name="path"/>; the zeros are
    /// stored minus <paramref name="zeroOffset"/> (1 in the v1 "gptq" format, 0 in "gptq_v2").
    /// </summary>
    public static IEnumerable<KeyValuePair<string, Tensor>> Entries(string path, GptqTensor weight, int zeroOffset = 1)
    {
        int bits = weight.Bits, half = 1 << (bits - 1);
        var codes = weight.SignedCodes(0, weight.Rows).to_type(ScalarType.Int64).PlusInPlace(half);
        var zeros = UnsignedZeros(weight);
        long smallest = zeros.min().item<long>(), largest = zeros.max().item<long>();
        if (smallest < zeroOffset || largest > (1 << bits) - 1)
            throw new QuantTuneException($"GPTQ export: '{path}' has a zero point of {(smallest < zeroOffset ? smallest : largest)}; the {(zeroOffset == 1 ? "v1" : "v2")} GPTQ layout stores " +
                $"zero − {zeroOffset} in {bits} bits, so zero points must lie in {zeroOffset}..{(1 << bits) - 1}");
        yield return new($"{path}.qweight", GptqPacking.PackRows(codes.t(), bits, $"'{path}' (in features)"));
        yield return new($"{path}.qzeros", GptqPacking.PackRows(zeros.Minus(zeroOffset), bits, $"'{path}' (out features)").t().contiguous());
        yield return new($"{path}.scales", weight.Scale.reciprocal().t().to_type(ScalarType.Float16).contiguous());
        yield return new($"{path}.g_idx", weight.GroupIndex.to_type(ScalarType.Int32));
    }

    /// <summary>The GPTQ settings of a checkpoint folder, or null when its config.json has no GPTQ quantization_config.</summary>
    public static GptqLayout? ReadLayout(string directory)
    {
        var path = Path.Combine(directory, "config.json");
        if (!File.Exists(path)) return null;
        if (QuantizedCheckpoint.QuantizationConfig(path) is not { } q || q.OptionalString("quant_method") != "gptq") return null;
        int bits = q.Int("bits");
        if (!GptqSettings.SupportedBits.Contains(bits))
            throw q.Invalid("bits", $"is {bits}; expected 2, 3, 4 or 8");
        int groupSize = q.Int("group_size");
        if (groupSize is 0 or < -1)
            throw q.Invalid("group_size", $"is {groupSize}; expected -1 (per output channel) or a positive number of columns");
        var format = q.OptionalString("checkpoint_format") ?? "gptq";
        int offset = format switch
        {
            "gptq" => 1,
            "gptq_v2" => 0,
            _ => throw q.Invalid("checkpoint_format", $"is '{format}'; expected gptq or gptq_v2"),
        };
        return new GptqLayout(bits, groupSize, q.OptionalBool("desc_act") ?? false, q.OptionalBool("sym") ?? false, offset);
    }

    /// <summary>Reads the GPTQ entries of the linear at <paramref name="path"/> into a <see cref="GptqTensor"/> (zero point mode, s = 1/scale).</summary>
    public static GptqTensor Load(SafetensorsCheckpoint checkpoint, string path, long outFeatures, long inFeatures, GptqLayout layout)
    {
        int bits = layout.Bits, half = 1 << (bits - 1);
        var where = checkpoint.Source;
        var sizedBy = $"the layer as {Path.Combine(checkpoint.Directory, "config.json")} sizes it";
        Tensor Read(string suffix, ScalarType dtype, long rows, long columns, string what)
        {
            var name = $"{path}.{suffix}";
            if (!checkpoint.Contains(name)) throw new InvalidFormatException(where, name, $"is missing; expected {what}");
            var info = checkpoint.Info(name);
            if (rows >= 0 && !info.Shape.SequenceEqual(columns >= 0 ? new[] { rows, columns } : new[] { rows }))
                throw new InvalidFormatException(where, name, $"has shape [{string.Join(", ", info.Shape)}]; expected [{rows}{(columns >= 0 ? $", {columns}" : "")}] ({what}, for {sizedBy})");
            return checkpoint.ToTensor(name, dtype);
        }
        if (inFeatures % 32 != 0 || outFeatures % 32 != 0)
            throw new InvalidFormatException(where, $"{path}.qweight", $"belongs to a [{outFeatures}, {inFeatures}] linear ({sizedBy}); the GPTQ int32 packing needs in and out features divisible by 32");
        var scalesInfo = checkpoint.Contains($"{path}.scales") ? checkpoint.Info($"{path}.scales").Shape : [];
        long groups = scalesInfo.Length == 2 ? scalesInfo[0] : -1;
        if (groups < 1) throw new InvalidFormatException(where, $"{path}.scales", $"is missing or not 2-D; expected fp16 [groups, {outFeatures}]");
        using var scope = NewDisposeScope();
        var codes = GptqPacking.UnpackRows(Read("qweight", ScalarType.Int32, inFeatures * bits / 32, outFeatures, $"int32 {bits}-bit codes packed along {inFeatures} inputs"), bits).t();
        var zeros = GptqPacking.UnpackRows(Read("qzeros", ScalarType.Int32, groups, outFeatures * bits / 32, $"int32 {bits}-bit zero points").t().contiguous(), bits).t()
            .Plus(layout.ZeroOffset - half).to_type(ScalarType.Float32);
        var steps = Read("scales", ScalarType.Float32, groups, outFeatures, "fp16 scales");
        Tensor gIdx;
        if (checkpoint.Contains($"{path}.g_idx"))
            gIdx = Read("g_idx", ScalarType.Int32, inFeatures, -1, "the group of each input column");
        else
        {
            long g = layout.GroupSize == -1 ? inFeatures : layout.GroupSize;
            gIdx = PinnedScalarMath.Arange(inFeatures, ScalarType.Int64).DividedByInPlace(g, RoundingMode.floor).to_type(ScalarType.Int32);
        }
        GptqTensor.CheckGroupIndex(gIdx, groups, $"{where} ({path}.g_idx)");
        var tensor = GptqTensor.FromCodes(codes.Minus(half), steps.reciprocal().t(), zeros.t(), gIdx, bits, IntegerMode.ZeroPoint, layout.GroupSize, layout.DescAct);
        foreach (var t in tensor.Tensors.Values) t.DetachFromDisposeScope();
        return tensor;
    }
}
