using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Families;
using QuantTune.Models.Loading;
using static TorchSharp.torch;

namespace QuantTune.Formats.Gguf;

/// <summary>
/// Writes a loaded Llama, Mistral, Qwen2, Qwen3, Gemma 2, Gemma 3, Phi-3/Phi-4 or GPT-2 checkpoint as a llama.cpp GGUF file: the architecture
/// (llama, qwen2, qwen3, gemma2, gemma3, phi3 or gpt2) and its hyperparameters as convert_hf_to_gguf.py writes them, the
/// tokenizer as <c>gpt2</c> or <c>llama</c> (<see cref="GgufVocabExport"/>), tensors renamed to llama.cpp's names (q/k rows permuted for llama as
/// convert_hf_to_gguf.py does), and each tensor given the type llama-quantize gives it for the
/// requested file type (<see cref="GgufMixture"/>).
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
        string arch = Architecture(config, model.Directory);
        if (config.Rope.Type is not ("default" or "linear") && !(arch == "phi3" && config.Rope.Type == "longrope"))
            throw new NotSupportedException($"GGUF export does not support rope type '{config.Rope.Type}' yet");
        if (arch == "gemma3") Gemma3Keys.CheckRepresentable(config, model.Directory);
        if (arch == "phi3") Phi3Keys.CheckRepresentable(config, model.Directory);

        var w = new GgufWriter();
        w.Add("general.architecture", GgufValue.Of(arch));
        w.Add("general.name", GgufValue.Of(Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(model.Directory)))));
        w.Add("general.file_type", GgufValue.Of((uint)fileType));
        w.Add("general.quantization_version", GgufValue.Of(QuantizationVersion));
        foreach (var (key, value) in Hyperparameters(config, arch)) w.Add(key, value);
        GgufVocabExport.Add(w, Path.Combine(model.Directory, "tokenizer.json"), model.Tokenizer, config, preTokenizer);
        GgufChatTemplate.Add(w, model.Directory, model.Tokenizer, config, chatTemplate);
        var plan = AddTensors(w, model, config, arch, fileType, progress);
        w.Write(path);
        return plan;
    }

    /// <summary>The architectures written: llama.cpp's names for the families whose converter class QuantTune mirrors.</summary>
    public static readonly IReadOnlyList<string> Architectures = ["llama", "qwen2", "qwen3", "gemma2", "gemma3", "phi3", "gpt2"];

    /// <summary>The GGUF architecture of <paramref name="config"/>'s family, or an error naming the families that export.</summary>
    static string Architecture(ModelConfig config, string directory)
    {
        if (config.Family.GgufArchitecture is string arch && Architectures.Contains(arch)) return arch;
        var exported = ModelFamilies.All.Where(f => f.GgufArchitecture is string a && Architectures.Contains(a)).SelectMany(f => f.ModelTypes);
        throw new QuantTuneException($"{directory}: GGUF export supports model types {string.Join(", ", exported)}; '{config.ModelType}' is not exported yet");
    }

    /// <summary>
    /// The <c>&lt;arch&gt;.*</c> keys convert_hf_to_gguf.py writes: TextModel.set_gguf_parameters's
    /// (block count, context, embedding and feed-forward length, head counts, RoPE base, RMS ε,
    /// key/value length where config.json has head_dim, which Qwen3's and Gemma's always have), and for
    /// llama LlamaModel's vocab size and RoPE dimension count.
    /// </summary>
    public static IEnumerable<(string Key, GgufValue Value)> Hyperparameters(ModelConfig config, string arch)
    {
        if (arch == "gpt2")
        {
            // GPT2Model.set_gguf_parameters; its feed_forward_length is 4 × n_embd, which is n_inner in every GPT-2 (QuantTune writes n_inner).
            yield return ("gpt2.block_count", GgufValue.Of((uint)config.NumLayers));
            yield return ("gpt2.context_length", GgufValue.Of((uint)config.MaxPositionEmbeddings));
            yield return ("gpt2.embedding_length", GgufValue.Of((uint)config.HiddenSize));
            yield return ("gpt2.feed_forward_length", GgufValue.Of((uint)config.IntermediateSize));
            yield return ("gpt2.attention.head_count", GgufValue.Of((uint)config.NumHeads));
            yield return ("gpt2.attention.layer_norm_epsilon", GgufValue.Of((float)config.RmsNormEps));
            yield break;
        }
        if (arch == "phi3")
        {
            foreach (var kv in Phi3Keys.Hyperparameters(config)) yield return kv;
            yield break;
        }
        if (arch == "llama") yield return ("llama.vocab_size", GgufValue.Of((uint)config.VocabSize));
        yield return ($"{arch}.context_length", GgufValue.Of((uint)config.MaxPositionEmbeddings));
        yield return ($"{arch}.embedding_length", GgufValue.Of((uint)config.HiddenSize));
        yield return ($"{arch}.block_count", GgufValue.Of((uint)config.NumLayers));
        yield return ($"{arch}.feed_forward_length", GgufValue.Of((uint)config.IntermediateSize));
        if (arch == "llama") yield return ("llama.rope.dimension_count", GgufValue.Of((uint)config.HeadDim));
        yield return ($"{arch}.attention.head_count", GgufValue.Of((uint)config.NumHeads));
        yield return ($"{arch}.attention.head_count_kv", GgufValue.Of((uint)config.NumKvHeads));
        if (arch is not ("llama" or "qwen2") || config.HeadDim * config.NumHeads != config.HiddenSize)
        {
            yield return ($"{arch}.attention.key_length", GgufValue.Of((uint)config.HeadDim));
            yield return ($"{arch}.attention.value_length", GgufValue.Of((uint)config.HeadDim));
        }
        yield return ($"{arch}.attention.layer_norm_rms_epsilon", GgufValue.Of((float)config.RmsNormEps));
        if (arch == "gemma2")
        {
            // Gemma2Model.set_gguf_parameters: the soft-caps and the window, no RoPE base.
            yield return ("gemma2.attn_logit_softcapping", GgufValue.Of((float)(config.AttentionSoftcap ?? 0)));
            yield return ("gemma2.final_logit_softcapping", GgufValue.Of((float)(config.FinalLogitSoftcap ?? 0)));
            yield return ("gemma2.attention.sliding_window", GgufValue.Of((uint)(config.SlidingWindow ?? 0)));
            yield break;
        }
        yield return ($"{arch}.rope.freq_base", GgufValue.Of((float)config.Rope.Theta));
        if (config.Rope.Type == "linear")
        {
            yield return ($"{arch}.rope.scaling.type", GgufValue.Of("linear"));
            yield return ($"{arch}.rope.scaling.factor", GgufValue.Of((float)config.Rope.Factor));
        }
        if (arch == "gemma3")
            foreach (var kv in Gemma3Keys.Hyperparameters(config)) yield return kv;
    }

    /// <summary>ggml's GGML_QNT_VERSION, written by llama.cpp's converters and llama-quantize as general.quantization_version.</summary>
    public const uint QuantizationVersion = 2;

    static IReadOnlyDictionary<string, GgmlType> AddTensors(GgufWriter w, PretrainedModel model, ModelConfig config, string arch, LlamaFileType fileType, IProgress<(long Done, long Total)>? progress)
    {
        using var _ = no_grad();
        var weights = Weights(model.Model).Where(p => !(arch == "gemma2" && p.Name == "lm_head.weight")).Select(p => (Gguf: TensorName(p.Name, arch)
            ?? throw new NotSupportedException($"parameter '{p.Name}' has no llama.cpp GGUF name (adapter layers are not exported; merge them first)"), p.Shape, p.Read)).ToList();
        var extra = arch == "phi3" ? Phi3Keys.ExtraTensors(config).ToList() : [];
        var plan = GgufMixture.Plan(fileType, weights.Select(p => new GgufTensorShape(p.Gguf, p.Shape))
            .Concat(extra.Select(e => new GgufTensorShape(e.Name, [e.Values.Length]))).ToList(), MixtureModel(config));
        foreach (var (name, values) in extra) w.AddTensor(name, plan[name], [values.Length], values);
        int done = 0;
        foreach (var (gguf, shape, read) in weights)
        {
            float[] values;
            using (var scope = NewDisposeScope())
                values = read().detach().to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
            // llama's RoPE rotates adjacent pairs, so its q/k rows are interleaved; qwen3's (NEOX) rotates halves, as HF stores them.
            if (arch == "llama" && LlamaTensorNames.PermuteHeads(gguf, config.NumHeads, config.NumKvHeads) is int heads)
                values = LlamaRowPermutation.Permute(values, (int)shape[0], shape.Length > 1 ? (int)shape[1] : 1, heads);
            // Gemma's norms scale by (1 + w); llama.cpp's by w: the converter writes w + 1.
            if (arch is "gemma2" or "gemma3" && gguf.EndsWith("norm.weight", StringComparison.Ordinal))
                for (int i = 0; i < values.Length; i++) values[i] += 1f;
            w.AddTensor(gguf, plan[gguf], shape, values);
            progress?.Report((++done, weights.Count));
        }
        return plan;
    }

    /// <summary>
    /// The GGUF name of HF parameter <paramref name="hf"/> in <paramref name="arch"/>: llama's table, except that
    /// Gemma's (2 and 3) four layer norms are attn_norm, post_attention_norm, ffn_norm (pre_feedforward) and post_ffw_norm.
    /// </summary>
    public static string? TensorName(string hf, string arch)
    {
        if (arch == "gpt2") return Gpt2TensorNames.ToGguf(hf);
        if (arch is "gemma2" or "gemma3")
        {
            var m = System.Text.RegularExpressions.Regex.Match(hf, @"^model\.layers\.(\d+)\.(post_attention_layernorm|pre_feedforward_layernorm|post_feedforward_layernorm)\.weight$");
            if (m.Success)
                return $"blk.{m.Groups[1].Value}." + m.Groups[2].Value switch
                {
                    "post_attention_layernorm" => "post_attention_norm",
                    "pre_feedforward_layernorm" => "ffn_norm",
                    _ => "post_ffw_norm",
                } + ".weight";
        }
        return LlamaTensorNames.ToGguf(hf);
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
