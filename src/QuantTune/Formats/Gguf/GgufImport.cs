using QuantTune.Diagnostics;
using QuantTune.Formats.Gguf.Architectures;
using QuantTune.Formats.Gguf.Kernels;
using QuantTune.Models.Layers;
using QuantTune.Quantization.Layers;
using QuantTune.Models.Config;
using QuantTune.Models.Transformer;
using static TorchSharp.torch;

namespace QuantTune.Formats.Gguf;

/// <summary>A dense float32 tensor read from a GGUF file, in PyTorch shape order.</summary>
public sealed record GgufDenseTensor(long[] Shape, float[] Values);

/// <summary>A 2-D tensor read from a GGUF file as stored: rows of <see cref="GgmlType"/> blocks, in PyTorch shape order.</summary>
public sealed record GgufBlockTensor(long[] Shape, GgmlType Type, byte[] Bytes);

/// <summary>A GGUF model file brought back to Hugging Face form: the config and dequantized tensors under HF names.</summary>
public sealed record GgufCheckpoint(ModelConfig Config, IReadOnlyDictionary<string, GgufDenseTensor> Tensors)
{
    /// <summary>The file it was read from, named by errors.</summary>
    public string Source { get; init; } = "GGUF checkpoint";

    /// <summary>Weights kept as the file stores them (<see cref="GgufImport.Load(string, bool)"/>), under HF names; not in <see cref="Tensors"/>.</summary>
    public IReadOnlyDictionary<string, GgufBlockTensor> Blocks { get; init; } = new Dictionary<string, GgufBlockTensor>();
}

/// <summary>
/// Reads a GGUF file of any architecture QuantTune writes (<see cref="GgufArchitectures"/>): hyperparameters into a
/// <see cref="ModelConfig"/>, tensors dequantized to float32, renamed to HF keys and brought back to HF layout by the
/// architecture (<see cref="IGgufArchitecture.ToHf"/>), so a <see cref="CausalLM"/> can be built from it (<see cref="ToCausalLM"/>).
/// </summary>
public static class GgufImport
{
    /// <param name="keepBlocks">
    /// keep the 2-D weights whose type has a dot-product kernel (<see cref="GgmlVecDot.HasKernel"/>) and whose values the
    /// architecture reads unchanged, or only with their rows reordered (Llama's q/k), as their GGUF blocks (<see cref="GgufCheckpoint.Blocks"/>), for <see cref="ToCausalLM"/>
    /// to put in <see cref="GgufLinear"/> layers; the others are dequantized as always
    /// </param>
    public static GgufCheckpoint Load(string path, bool keepBlocks = false)
    {
        using var file = GgufFile.Open(path);
        string expected = string.Join(", ", GgufArchitectures.Names);
        string name = file.RequiredString("general.architecture", $"expected the model's architecture (one of {expected})");
        var arch = GgufArchitectures.Find(name)
            ?? throw new InvalidFormatException(path, "general.architecture", $"'{name}' is not supported; expected one of {expected}");
        if (file.OptionalString("general.type") is string t && t != "model")
            throw new InvalidFormatException(path, "general.type", $"'{t}': this is not a model; a LoRA adapter GGUF is applied as an adapter on top of its base model");
        var config = arch.ReadConfig(file);
        ModelDimensionLimits.Check(config, (field, problem) => new InvalidFormatException(path, field, problem), arch.KeyOf);

        // Every tensor checked against the shape the metadata implies before any is read.
        var shapes = DecoderShapes.Expected(config);
        var hfNames = new Dictionary<string, string>(StringComparer.Ordinal);
        var stacks = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal); // GGUF tensors that stack several HF parameters
        foreach (var info in file.Tensors)
        {
            if (arch.IsConfigTensor(info.Name)) continue; // read into the config
            var slices = arch.HfSlices(info.Name, config);
            string hf = slices?[0] ?? arch.HfName(info.Name, config)
                ?? throw new InvalidFormatException(path, info.Name, $"is not a {arch.Name} tensor QuantTune knows");
            if (!shapes.TryGetValue(hf, out var shape))
                throw new InvalidFormatException(path, info.Name, $"is not a tensor of the model its metadata describes ({config.NumLayers} layers{(config.TieWordEmbeddings ? ", tied embeddings" : "")})");
            long[] stored = slices is null ? arch.GgufShape(info.Name, shape) : [slices.Count, .. shape];
            if (!info.Shape.SequenceEqual(stored))
                throw new InvalidFormatException(path, info.Name, $"has shape [{string.Join(", ", info.Shape)}]; the metadata implies [{string.Join(", ", stored)}]");
            if (slices is null) hfNames[hf] = info.Name;
            else
            {
                stacks[info.Name] = slices;
                foreach (var slice in slices) hfNames[slice] = info.Name;
            }
        }
        if (shapes.Keys.FirstOrDefault(n => !hfNames.ContainsKey(n)) is string absent)
            throw new InvalidFormatException(path, arch.TensorName(absent) ?? absent, "is missing; the model its metadata describes needs it");

        var tensors = new Dictionary<string, GgufDenseTensor>(StringComparer.Ordinal);
        var blocks = new Dictionary<string, GgufBlockTensor>(StringComparer.Ordinal);
        foreach (var (gguf, slices) in stacks)
            ReadStack(file, gguf, slices, shapes[slices[0]], keepBlocks, tensors, blocks);
        foreach (var (hf, gguf) in hfNames)
        {
            if (stacks.ContainsKey(gguf)) continue;
            var info = file.TensorsByName[gguf];
            long[] shape = info.Shape;
            bool kernel = keepBlocks && shape.Length == 2 && shapes[hf].Length == 2 && GgmlVecDot.HasKernel(info.Type);
            if (kernel && arch.ReadsUnchanged(gguf, config))
                blocks[hf] = new GgufBlockTensor(shape, info.Type, file.ReadTensorBytes(gguf));
            else if (kernel && arch.HfRowSources(gguf, shape, config) is int[] sources)
                blocks[hf] = new GgufBlockTensor(shape, info.Type, MoveRows(file.ReadTensorBytes(gguf), sources));
            else
                tensors[hf] = new GgufDenseTensor(shapes[hf], arch.ToHf(gguf, shape, file.ReadTensor(gguf), config));
        }
        return new GgufCheckpoint(config, tensors) { Source = path, Blocks = blocks };
    }

    /// <summary>
    /// A tensor that stacks <paramref name="slices"/> (a layer's experts), each of HF <paramref name="shape"/>, split into them:
    /// as blocks where they are kept (each slice's rows are whole rows of blocks), else dequantized.
    /// </summary>
    static void ReadStack(GgufFile file, string gguf, IReadOnlyList<string> slices, long[] shape, bool keepBlocks,
        Dictionary<string, GgufDenseTensor> tensors, Dictionary<string, GgufBlockTensor> blocks)
    {
        var type = file.TensorsByName[gguf].Type;
        if (keepBlocks && shape.Length == 2 && GgmlVecDot.HasKernel(type))
        {
            byte[] bytes = file.ReadTensorBytes(gguf);
            int size = bytes.Length / slices.Count;
            for (int i = 0; i < slices.Count; i++)
                blocks[slices[i]] = new GgufBlockTensor(shape, type, bytes[(i * size)..((i + 1) * size)]);
            return;
        }
        float[] values = file.ReadTensor(gguf);
        int length = values.Length / slices.Count;
        for (int i = 0; i < slices.Count; i++)
            tensors[slices[i]] = new GgufDenseTensor(shape, values[(i * length)..((i + 1) * length)]);
    }

    /// <summary>Row r of the result is row <paramref name="sources"/>[r] of <paramref name="bytes"/> (rows of equal length).</summary>
    static byte[] MoveRows(byte[] bytes, int[] sources)
    {
        int rowBytes = bytes.Length / sources.Length;
        var moved = new byte[bytes.Length];
        for (int r = 0; r < sources.Length; r++)
            Buffer.BlockCopy(bytes, sources[r] * rowBytes, moved, r * rowBytes, rowBytes);
        return moved;
    }

    /// <summary>
    /// Builds a <see cref="CausalLM"/> from <paramref name="checkpoint"/>; every parameter must be present with its shape.
    /// The linear layers whose weights the checkpoint holds as <see cref="GgufCheckpoint.Blocks"/> become
    /// <see cref="GgufLinear"/> layers on them (built on the meta device first, so no float weight is ever allocated);
    /// any other kept blocks (the embedding, an lm_head) are dequantized here.
    /// </summary>
    public static CausalLM ToCausalLM(GgufCheckpoint checkpoint, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var arch = GgufArchitectures.For(checkpoint.Config);
        string Gguf(string name) => arch?.TensorName(name) ?? name;
        device ??= CPU;
        CausalLM model;
        string? onBlocks = null;
        using (checkpoint.Blocks.Count > 0 ? Linear.OnMetaDevice() : null) model = new CausalLM(checkpoint.Config, dtype, device);
        try
        {
            using var _ = no_grad();
            if (checkpoint.Blocks.Count > 0)
            {
                GgufLinears.Place(model, checkpoint.Blocks, dtype, device);
                model.HeadOnBlocks = GgufLinears.Head(model, checkpoint.Blocks, device);
                if (device.type == TorchSharp.DeviceType.CPU) onBlocks = GgufLinears.PlaceEmbedding(model, checkpoint.Blocks, dtype);
            }
            foreach (var (name, p) in model.named_parameters())
            {
                // Placeholders whose blocks serve in their place: the embedding's table, an lm_head run by HeadOnBlocks.
                if (name == onBlocks || p.device_type == TorchSharp.DeviceType.META && model.HeadOnBlocks is not null && name == "lm_head.weight") continue;
                var t = checkpoint.Tensors.GetValueOrDefault(name)
                    ?? (checkpoint.Blocks.TryGetValue(name, out var b) ? GgufLinears.Dequantized(b) : null)
                    ?? throw new InvalidFormatException(checkpoint.Source, Gguf(name), $"is missing; the model needs it for parameter '{name}'");
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
