using QuantTune.Models.Config;
using QuantTune.Models.Loading;
using static TorchSharp.torch;

namespace QuantTune.Formats.Gguf;

/// <summary>
/// Writes a loaded Llama checkpoint as a llama.cpp GGUF file: llama.* hyperparameters, the
/// tokenizer as <c>gpt2</c> or <c>llama</c> (<see cref="GgufVocabExport"/>), tensors renamed to llama.cpp's names with q/k rows permuted as
/// convert_hf_to_gguf.py does, and each tensor given the type llama-quantize gives it for the
/// requested file type (<see cref="GgufMixture"/>).
/// </summary>
public static class GgufExport
{
    /// <summary>
    /// Writes <paramref name="model"/> as <paramref name="fileType"/>; <paramref name="progress"/> counts tensors
    /// written. Returns the type each tensor was written in, by GGUF name. The model's chat template (or
    /// <paramref name="chatTemplate"/>, see <see cref="GgufChatTemplate"/>) goes in with its end-of-turn id.
    /// </summary>
    public static IReadOnlyDictionary<string, GgmlType> Write(PretrainedModel model, string path, LlamaFileType fileType, IProgress<(long Done, long Total)>? progress = null,
        string? chatTemplate = null)
    {
        var config = model.Config;
        if (config.ModelType is not ("llama" or "mistral"))
            throw new NotSupportedException($"GGUF export supports llama and mistral checkpoints, not {config.ModelType}");
        if (config.Rope.Type is not ("default" or "linear"))
            throw new NotSupportedException($"GGUF export does not support rope type '{config.Rope.Type}' yet");

        var w = new GgufWriter();
        w.Add("general.architecture", GgufValue.Of("llama"));
        w.Add("general.name", GgufValue.Of(Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(model.Directory)))));
        w.Add("general.file_type", GgufValue.Of((uint)fileType));
        w.Add("general.quantization_version", GgufValue.Of(QuantizationVersion));
        w.Add("llama.vocab_size", GgufValue.Of((uint)config.VocabSize));
        w.Add("llama.context_length", GgufValue.Of((uint)config.MaxPositionEmbeddings));
        w.Add("llama.embedding_length", GgufValue.Of((uint)config.HiddenSize));
        w.Add("llama.block_count", GgufValue.Of((uint)config.NumLayers));
        w.Add("llama.feed_forward_length", GgufValue.Of((uint)config.IntermediateSize));
        w.Add("llama.rope.dimension_count", GgufValue.Of((uint)config.HeadDim));
        w.Add("llama.attention.head_count", GgufValue.Of((uint)config.NumHeads));
        w.Add("llama.attention.head_count_kv", GgufValue.Of((uint)config.NumKvHeads));
        if (config.HeadDim * config.NumHeads != config.HiddenSize)
        {
            w.Add("llama.attention.key_length", GgufValue.Of((uint)config.HeadDim));
            w.Add("llama.attention.value_length", GgufValue.Of((uint)config.HeadDim));
        }
        w.Add("llama.attention.layer_norm_rms_epsilon", GgufValue.Of((float)config.RmsNormEps));
        w.Add("llama.rope.freq_base", GgufValue.Of((float)config.Rope.Theta));
        if (config.Rope.Type == "linear")
        {
            w.Add("llama.rope.scaling.type", GgufValue.Of("linear"));
            w.Add("llama.rope.scaling.factor", GgufValue.Of((float)config.Rope.Factor));
        }
        GgufVocabExport.Add(w, Path.Combine(model.Directory, "tokenizer.json"), model.Tokenizer, config);
        GgufChatTemplate.Add(w, model.Directory, model.Tokenizer, config, chatTemplate);
        var plan = AddTensors(w, model, config, fileType, progress);
        w.Write(path);
        return plan;
    }

    /// <summary>ggml's GGML_QNT_VERSION, written by llama.cpp's converters and llama-quantize as general.quantization_version.</summary>
    public const uint QuantizationVersion = 2;

    static IReadOnlyDictionary<string, GgmlType> AddTensors(GgufWriter w, PretrainedModel model, ModelConfig config, LlamaFileType fileType, IProgress<(long Done, long Total)>? progress)
    {
        using var _ = no_grad();
        var weights = Weights(model.Model).Select(p => (Gguf: LlamaTensorNames.ToGguf(p.Name)
            ?? throw new NotSupportedException($"parameter '{p.Name}' has no llama.cpp GGUF name (adapter layers are not exported; merge them first)"), p.Shape, p.Read)).ToList();
        var plan = GgufMixture.Plan(fileType, weights.Select(p => new GgufTensorShape(p.Gguf, p.Shape)).ToList(), MixtureModel(config));
        int done = 0;
        foreach (var (gguf, shape, read) in weights)
        {
            float[] values;
            using (var scope = NewDisposeScope())
                values = read().detach().to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
            if (LlamaTensorNames.PermuteHeads(gguf, config.NumHeads, config.NumKvHeads) is int heads)
                values = LlamaRowPermutation.Permute(values, (int)shape[0], shape.Length > 1 ? (int)shape[1] : 1, heads);
            w.AddTensor(gguf, plan[gguf], shape, values);
            progress?.Report((++done, weights.Count));
        }
        return plan;
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
    /// <summary>The hyperparameters <see cref="GgufMixture"/> reads, from <paramref name="config"/>.</summary>
    public static LlamaMixtureModel MixtureModel(ModelConfig config) => new(config.NumLayers, config.NumHeads, config.NumKvHeads);
}
