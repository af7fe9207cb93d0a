using QuantTune.Diagnostics;
using QuantTune.Formats.Gguf.Architectures;
using QuantTune.Models.Config;
using QuantTune.Models.Loading;
using static TorchSharp.torch;

namespace QuantTune.Formats.Gguf;

/// <summary>
/// Writes a loaded checkpoint of a family that exports (<see cref="GgufArchitectures"/>) as a llama.cpp GGUF file: the
/// architecture and its hyperparameters as convert_hf_to_gguf.py writes them, the tokenizer as <c>gpt2</c> or
/// <c>llama</c> (<see cref="GgufVocabExport"/>), tensors renamed to llama.cpp's names and transformed as the
/// architecture's converter class does (<see cref="IGgufArchitecture"/>), and each tensor given the type llama-quantize
/// gives it for the requested file type (<see cref="GgufMixture"/>).
/// </summary>
public static class GgufExport
{
    /// <summary>
    /// Writes <paramref name="model"/> as <paramref name="fileType"/>; <paramref name="progress"/> counts tensors
    /// written. Returns the type each tensor was written in, by GGUF name. The model's chat template (or
    /// <paramref name="chatTemplate"/>, see <see cref="GgufChatTemplate"/>) goes in with its end-of-turn id.
    /// </summary>
    /// <remarks><paramref name="preTokenizer"/> overrides the <c>tokenizer.ggml.pre</c> name found from the tokenizer (<see cref="LlamaCppPreTokenizer"/>).</remarks>
    public static IReadOnlyDictionary<string, GgmlType> Write(PretrainedModel model, string path, LlamaFileType fileType, IProgress<(long Done, long Total)>? progress = null, string? preTokenizer = null, string? chatTemplate = null)
    {
        var config = model.Config;
        var arch = Architecture(config, model.Directory);
        arch.CheckRepresentable(config, model.Directory);

        var w = new GgufWriter();
        w.Add("general.architecture", GgufValue.Of(arch.Name));
        w.Add("general.name", GgufValue.Of(Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(model.Directory)))));
        w.Add("general.file_type", GgufValue.Of((uint)fileType));
        w.Add("general.quantization_version", GgufValue.Of(QuantizationVersion));
        foreach (var (key, value) in arch.Hyperparameters(config)) w.Add(key, value);
        GgufVocabExport.Add(w, Path.Combine(model.Directory, "tokenizer.json"), model.Tokenizer, config, preTokenizer);
        GgufChatTemplate.Add(w, model.Directory, model.Tokenizer, config, chatTemplate);
        var plan = AddTensors(w, model, config, arch, fileType, progress);
        using (no_grad()) w.Write(path);
        return plan;
    }

    /// <summary>The GGUF architecture of <paramref name="config"/>'s family (<see cref="GgufArchitectures"/>), or an error naming the families that export.</summary>
    static IGgufArchitecture Architecture(ModelConfig config, string directory) =>
        GgufArchitectures.For(config.Family)
        ?? throw new QuantTuneException($"{directory}: GGUF export supports model types {string.Join(", ", GgufArchitectures.ExportedModelTypes)}; '{config.ModelType}' is not exported yet");

    /// <summary>ggml's GGML_QNT_VERSION, written by llama.cpp's converters and llama-quantize as general.quantization_version.</summary>
    public const uint QuantizationVersion = 2;

    /// <summary>
    /// Adds every tensor with its planned type; the weights are read, transformed and encoded one at a time while the
    /// file is written (<see cref="GgufWriter.AddTensor(string, GgmlType, long[], Func{byte[]})"/>), so export holds one
    /// encoded tensor beyond the loaded model.
    /// </summary>
    static IReadOnlyDictionary<string, GgmlType> AddTensors(GgufWriter w, PretrainedModel model, ModelConfig config, IGgufArchitecture arch, LlamaFileType fileType, IProgress<(long Done, long Total)>? progress)
    {
        var parameters = Weights(model.Model).ToList();
        if (config.TieWordEmbeddings && arch.WritesTiedHead) parameters.Add(TiedHead(parameters, config));
        var weights = Merged(parameters.Where(p => arch.Writes(p.Name)).ToList(), arch, config)
            .Select(p => (p.Gguf, p.Shape, Stored: arch.GgufShape(p.Gguf, p.Shape), p.Read)).ToList();
        var extra = arch.ExtraTensors(config).ToList();
        var plan = GgufMixture.Plan(fileType, weights.Select(p => new GgufTensorShape(p.Gguf, p.Stored))
            .Concat(extra.Select(e => new GgufTensorShape(e.Name, [e.Values.Length]))).ToList(), MixtureModel(config));
        foreach (var (name, values) in extra) w.AddTensor(name, plan[name], [values.Length], values);
        int done = 0;
        foreach (var (gguf, shape, stored, read) in weights)
            w.AddTensor(gguf, plan[gguf], stored, () =>
            {
                float[] values;
                using (var scope = NewDisposeScope())
                    values = read().detach().to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
                byte[] data = GgmlCodec.Quantize(plan[gguf], arch.ToGguf(gguf, shape, values, config));
                progress?.Report((++done, weights.Count));
                return data;
            });
        return plan;
    }

    /// <summary>
    /// Each parameter under its GGUF name, but those the architecture stacks into one tensor (<see cref="IGgufArchitecture.MergedInto"/>:
    /// a layer's experts) as that tensor, in the place of its first slice, read by stacking the slices when it is written.
    /// </summary>
    static IEnumerable<(string Gguf, long[] Shape, Func<Tensor> Read)> Merged(IReadOnlyList<(string Name, long[] Shape, Func<Tensor> Read)> parameters, IGgufArchitecture arch, ModelConfig config)
    {
        var slices = parameters.Select(p => (p, Into: arch.MergedInto(p.Name, config))).Where(x => x.Into is not null)
            .GroupBy(x => x.Into!.Value.Gguf).ToDictionary(g => g.Key, g => g.OrderBy(x => x.Into!.Value.Index).ToList());
        foreach (var p in parameters)
        {
            if (arch.MergedInto(p.Name, config) is not { } into)
            {
                yield return (arch.TensorName(p.Name)
                    ?? throw new NotSupportedException($"parameter '{p.Name}' has no llama.cpp GGUF name (adapter layers are not exported; merge them first)"), p.Shape, p.Read);
                continue;
            }
            var members = slices[into.Gguf];
            if (members[0].p.Name != p.Name) continue;
            if (members.Count != into.Count || members.Select((m, i) => m.Into!.Value.Index != i || !m.p.Shape.SequenceEqual(p.Shape)).Any(bad => bad))
                throw new QuantTuneException($"GGUF tensor '{into.Gguf}' stacks {into.Count} parameters of shape [{string.Join(", ", p.Shape)}]; the model has {members.Count} ({string.Join(", ", members.Select(m => m.p.Name))})");
            yield return (into.Gguf, [into.Count, .. p.Shape], () => stack(members.Select(m => m.p.Read()).ToArray()));
        }
    }

    /// <summary>
    /// Every weight of the model by its Hugging Face name, with its shape and how to read it:
    /// the parameters, and the weights of quantized layers (NF4, intK, GPTQ), which are not
    /// parameters and are dequantized one at a time when read - so a quantized checkpoint
    /// exports whole, requantized to the file type's blocks.
    /// </summary>
    static IEnumerable<(string Name, long[] Shape, Func<Tensor> Read)> Weights(QuantTune.Models.Transformer.CausalLM model)
    {
        foreach (var (name, p) in model.named_parameters()) yield return (name, p.shape, () => p);
        foreach (var (name, module) in model.named_modules())
            if (module is QuantTune.Quantization.Layers.QuantizedLinear q)
                yield return (name + ".weight", q.Weight.Shape, () => q.Weight.Dequantize(ScalarType.Float32));
    }
    /// <summary>The tied head as an lm_head of its own: the embedding, read again (<see cref="IGgufArchitecture.WritesTiedHead"/>).</summary>
    static (string Name, long[] Shape, Func<Tensor> Read) TiedHead(IEnumerable<(string Name, long[] Shape, Func<Tensor> Read)> parameters, ModelConfig config)
    {
        string embedding = config.Names.EmbeddingPath + ".weight";
        var (_, shape, read) = parameters.FirstOrDefault(p => p.Name == embedding);
        return ("lm_head.weight", shape ?? throw new QuantTuneException($"the model has no parameter '{embedding}' to write as its tied head"), read);
    }

    /// <summary>The hyperparameters <see cref="GgufMixture"/> reads, from <paramref name="config"/>.</summary>
    public static LlamaMixtureModel MixtureModel(ModelConfig config) => new(config.NumLayers, config.NumHeads, config.NumKvHeads);
}
