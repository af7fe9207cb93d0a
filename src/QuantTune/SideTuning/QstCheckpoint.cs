using System.Text.Json;
using System.Text.Json.Serialization;
using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.IO;
using QuantTune.Models.Config;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.SideTuning;

/// <summary>
/// What qst_config.json records: the options and the base model's identity and shape. A file
/// without <c>downsampler_layout</c> was written before the official layout existed and is read
/// as <see cref="SideTuning.DownsamplerLayout.PerInput"/>; one without <c>side_dtype</c> as an fp32 side network.
/// </summary>
public sealed record QstCheckpointInfo(
    string BaseModel, string BaseModelType, int BaseHiddenSize, int BaseLayers, int BaseHeads, int BaseVocab,
    int Reduction, int Bottleneck, string Downsampler, string Activation, int[] Layers, string BackboneQuantization,
    string? DownsamplerLayout = null, bool FreezeMix = false, string? SideDtype = null);

/// <summary>
/// Saves and loads a trained side network: <c>side_model.safetensors</c> (only the side
/// network's parameters, under <c>side.*</c>) and <c>qst_config.json</c> naming the base model
/// and every option. Loading checks the base model's shape against the recorded one.
/// </summary>
public static class QstCheckpoint
{
    public const string WeightsFile = "side_model.safetensors", ConfigFile = "qst_config.json";
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static void Save(QstModel model, string baseModelDirectory, string backboneQuantization, string outputDirectory)
    {
        OutputFolder.RefuseSource(outputDirectory, baseModelDirectory);
        var b = model.backbone.Config;
        var q = model.Qst;
        var info = new QstCheckpointInfo(Path.GetFullPath(baseModelDirectory), b.ModelType, b.HiddenSize, b.NumLayers, b.NumHeads, b.VocabSize,
            q.Reduction, q.Bottleneck, q.Downsampler.ToString().ToLowerInvariant(), q.Activation, q.LayersOf(b).ToArray(), backboneQuantization,
            LayoutName(q.Layout), q.FreezeMix, TorchRuntime.Name(q.SideDType));
        using var scope = NewDisposeScope(); // the detached views below
        AtomicDirectory.Write(outputDirectory, dir =>
        {
            SafetensorsWriter.Write(Path.Combine(dir, WeightsFile),
                model.side.named_parameters().Select(p => new KeyValuePair<string, Tensor>("side." + p.name, p.parameter.detach())).OrderBy(p => p.Key, StringComparer.Ordinal));
            File.WriteAllText(Path.Combine(dir, ConfigFile), JsonSerializer.Serialize(info, Json));
        });
    }

    public static QstCheckpointInfo ReadInfo(string directory)
    {
        IO.AtomicDirectory.RestoreIfMissing(directory);
        var path = Path.Combine(directory, ConfigFile);
        if (!File.Exists(path)) throw new QuantTuneException($"{path}: not found; expected a QST side-network folder (qst_config.json + {WeightsFile})");
        QstCheckpointInfo? info;
        try { info = JsonSerializer.Deserialize<QstCheckpointInfo>(JsonFile.ReadText(path), Json); }
        catch (JsonException e)
        {
            throw new InvalidFormatException(path, e.Path is null or "$" ? null : e.Path.TrimStart('$', '.'), $"is not a valid QST config ({e.Message.Split(" Path:")[0]})", e);
        }
        if (info is null) throw new InvalidFormatException(path, null, "is null; expected an object");
        Check(info, path);
        return info;
    }

    /// <summary>Every field present and in range, before any of them sizes an allocation.</summary>
    static void Check(QstCheckpointInfo info, string path)
    {
        void Require(bool ok, string field, string problem)
        {
            if (!ok) throw new InvalidFormatException(path, field, problem);
        }
        Require(info.BaseModel is not null, "base_model", "is missing; expected the base model's path");
        Require(info.BaseModelType is not null, "base_model_type", "is missing; expected the base model's model_type");
        Require(info.Activation is not null, "activation", "is missing; expected silu, relu, gelu or tanh");
        Require(info.BackboneQuantization is not null, "backbone_quantization", "is missing; expected the backbone's quantization (nf4)");
        Require(info.Layers is not null, "layers", "is missing; expected the backbone layers that feed the side network");
        Require(info.Downsampler is not null && Enum.TryParse<DownsamplerKind>(info.Downsampler, ignoreCase: true, out _), "downsampler",
            $"is {(info.Downsampler is null ? "missing" : $"'{info.Downsampler}'")}; expected adapter, linear, lora, maxpool or avgpool");
        Require(info.DownsamplerLayout is null || ParseLayout(info.DownsamplerLayout) is not null, "downsampler_layout",
            $"is '{info.DownsamplerLayout}'; expected {LayoutName(DownsamplerLayout.Official)} or {LayoutName(DownsamplerLayout.PerInput)}");
        Require(info.SideDtype is null or "fp32" or "bf16", "side_dtype", $"is '{info.SideDtype}'; expected fp32 or bf16");
        Require(info.BaseHiddenSize > 0, "base_hidden_size", $"is {info.BaseHiddenSize}; expected a positive integer");
        Require(info.Reduction >= 1 && info.Reduction <= info.BaseHiddenSize, "reduction", $"is {info.Reduction}; expected 1 to base_hidden_size ({info.BaseHiddenSize})");
        Require(info.Bottleneck >= 1 && info.Bottleneck <= MaxBottleneckPerHidden * (long)info.BaseHiddenSize, "bottleneck",
            $"is {info.Bottleneck}; expected 1 to {MaxBottleneckPerHidden} × base_hidden_size ({info.BaseHiddenSize})");
    }

    /// <summary>A bottleneck wider than this many times the hidden size is not a bottleneck (and would size a huge allocation).</summary>
    const int MaxBottleneckPerHidden = 4;

    /// <summary>The side network's settings as recorded; <see cref="ReadInfo"/> has checked them.</summary>
    public static QstConfig ConfigOf(QstCheckpointInfo info) => new()
    {
        Reduction = info.Reduction,
        Bottleneck = info.Bottleneck,
        Downsampler = Enum.Parse<DownsamplerKind>(info.Downsampler, ignoreCase: true),
        Activation = info.Activation,
        Layers = info.Layers,
        Layout = info.DownsamplerLayout is null ? DownsamplerLayout.PerInput : ParseLayout(info.DownsamplerLayout)!.Value,
        FreezeMix = info.FreezeMix,
        SideDType = info.SideDtype == "bf16" ? ScalarType.BFloat16 : ScalarType.Float32,
    };

    static string LayoutName(DownsamplerLayout layout) => layout == DownsamplerLayout.Official ? "official" : "per-input";

    static DownsamplerLayout? ParseLayout(string name) => name switch
    {
        "official" => DownsamplerLayout.Official,
        "per-input" => DownsamplerLayout.PerInput,
        _ => null,
    };

    /// <summary>Checks that <paramref name="backbone"/> is the model the side network was trained on.</summary>
    public static void CheckBase(QstCheckpointInfo info, ModelConfig backbone, string directory)
    {
        var path = Path.Combine(directory, ConfigFile);
        void Expect(string field, object recorded, object actual)
        {
            if (!Equals(recorded, actual))
                throw new InvalidFormatException(path, field, $"is {recorded} but the base model has {actual}: this side network was trained on another base model ({info.BaseModel})");
        }
        Expect("base_model_type", info.BaseModelType, backbone.ModelType);
        Expect("base_hidden_size", info.BaseHiddenSize, backbone.HiddenSize);
        Expect("base_layers", info.BaseLayers, backbone.NumLayers);
        Expect("base_heads", info.BaseHeads, backbone.NumHeads);
        Expect("base_vocab", info.BaseVocab, backbone.VocabSize);
    }

    /// <summary>Copies the saved side-network weights into <paramref name="model"/>.</summary>
    public static void LoadWeights(QstModel model, string directory)
    {
        var path = Path.Combine(directory, WeightsFile);
        var config = Path.Combine(directory, ConfigFile);
        using var file = SafetensorsFile.Open(path);
        using var _ = no_grad();
        foreach (var (name, p) in model.side.named_parameters())
        {
            var key = "side." + name;
            if (!file.Tensors.TryGetValue(key, out var info)) throw new InvalidFormatException(path, key, $"is missing; the side network {config} describes has it");
            if (!info.Shape.SequenceEqual(p.shape))
                throw new InvalidFormatException(path, key, $"has shape [{string.Join(", ", info.Shape)}]; the side network {config} describes expects [{string.Join(", ", p.shape)}]");
            using var saved = file.ToTensor(key);
            p.copy_(saved);
        }
    }
}
