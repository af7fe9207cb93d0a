using QuantTune.Diagnostics;
using QuantTune.Formats.Gguf.Architectures;
using QuantTune.Models.Config;
using QuantTune.Models.Transformer;
using static TorchSharp.torch;

namespace QuantTune.Formats.Gguf;

/// <summary>A dense float32 tensor read from a GGUF file, in PyTorch shape order.</summary>
public sealed record GgufDenseTensor(long[] Shape, float[] Values);

/// <summary>A GGUF model file brought back to Hugging Face form: the config and dequantized tensors under HF names.</summary>
public sealed record GgufCheckpoint(ModelConfig Config, IReadOnlyDictionary<string, GgufDenseTensor> Tensors)
{
    /// <summary>The file it was read from, named by errors.</summary>
    public string Source { get; init; } = "GGUF checkpoint";
}

/// <summary>
/// Reads a GGUF file of any architecture QuantTune writes (<see cref="GgufArchitectures"/>): hyperparameters into a
/// <see cref="ModelConfig"/>, tensors dequantized to float32, renamed to HF keys and brought back to HF layout by the
/// architecture (<see cref="IGgufArchitecture.ToHf"/>), so a <see cref="CausalLM"/> can be built from it (<see cref="ToCausalLM"/>).
/// </summary>
public static class GgufImport
{
    public static GgufCheckpoint Load(string path)
    {
        using var file = GgufFile.Open(path);
        string expected = string.Join(", ", GgufArchitectures.Names);
        string name = file.RequiredString("general.architecture", $"expected the model's architecture (one of {expected})");
        var arch = GgufArchitectures.Find(name)
            ?? throw new InvalidFormatException(path, "general.architecture", $"'{name}' is not supported; expected one of {expected}");
        if (file.OptionalString("general.type") is string t && t != "model")
            throw new InvalidFormatException(path, "general.type", $"'{t}': this is not a model; a LoRA adapter GGUF is applied with --adapter on top of its base model");
        var config = arch.ReadConfig(file);
        ModelDimensionLimits.Check(config, (field, problem) => new InvalidFormatException(path, field, problem), arch.KeyOf);

        // Every tensor checked against the shape the metadata implies before any is read.
        var shapes = DecoderShapes.Expected(config);
        var hfNames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var info in file.Tensors)
        {
            if (arch.IsConfigTensor(info.Name)) continue; // read into the config
            string hf = arch.HfName(info.Name, config)
                ?? throw new InvalidFormatException(path, info.Name, $"is not a {arch.Name} tensor QuantTune knows");
            if (!shapes.TryGetValue(hf, out var shape))
                throw new InvalidFormatException(path, info.Name, $"is not a tensor of the model its metadata describes ({config.NumLayers} layers{(config.TieWordEmbeddings ? ", tied embeddings" : "")})");
            if (!info.Shape.SequenceEqual(shape))
                throw new InvalidFormatException(path, info.Name, $"has shape [{string.Join(", ", info.Shape)}]; the metadata implies [{string.Join(", ", shape)}]");
            hfNames[hf] = info.Name;
        }
        if (shapes.Keys.FirstOrDefault(n => !hfNames.ContainsKey(n)) is string absent)
            throw new InvalidFormatException(path, arch.TensorName(absent) ?? absent, "is missing; the model its metadata describes needs it");

        var tensors = new Dictionary<string, GgufDenseTensor>(StringComparer.Ordinal);
        foreach (var (hf, gguf) in hfNames)
        {
            long[] shape = file.TensorsByName[gguf].Shape;
            tensors[hf] = new GgufDenseTensor(shape, arch.ToHf(gguf, shape, file.ReadTensor(gguf), config));
        }
        return new GgufCheckpoint(config, tensors) { Source = path };
    }

    /// <summary>Builds a <see cref="CausalLM"/> from <paramref name="checkpoint"/>; every parameter must be present with its shape.</summary>
    public static CausalLM ToCausalLM(GgufCheckpoint checkpoint, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var arch = GgufArchitectures.For(checkpoint.Config);
        string Gguf(string name) => arch?.TensorName(name) ?? name;
        var model = new CausalLM(checkpoint.Config, dtype, device ?? CPU);
        try
        {
            using var _ = no_grad();
            foreach (var (name, p) in model.named_parameters())
            {
                if (!checkpoint.Tensors.TryGetValue(name, out var t))
                    throw new InvalidFormatException(checkpoint.Source, Gguf(name), $"is missing; the model needs it for parameter '{name}'");
                if (!t.Shape.SequenceEqual(p.shape))
                    throw new InvalidFormatException(checkpoint.Source, Gguf(name), $"has shape [{string.Join(", ", t.Shape)}]; the model expects [{string.Join(", ", p.shape)}]");
                using var src = tensor(t.Values, t.Shape);
                p.copy_(src);
            }
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
