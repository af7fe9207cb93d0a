using System.Text.Json;
using QuantTune.Models.Config;
using QuantTune.Models.Loading;
using static TorchSharp.torch;

namespace QuantTune.Formats.Gguf;

/// <summary>
/// Writes a loaded Llama checkpoint as a llama.cpp GGUF file: llama.* hyperparameters, a gpt2
/// (byte-level BPE) tokenizer, tensors renamed to llama.cpp's names with q/k rows permuted as
/// convert_hf_to_gguf.py does. Norms and biases stay F32; 2-D weights get the requested type,
/// falling back to F32 where a row is not a whole number of blocks.
/// </summary>
public static class GgufExport
{
    /// <summary>llama.cpp's <c>llama_ftype</c> for a file whose weights are mostly <paramref name="type"/>.</summary>
    public static uint FileType(GgmlType type) => type switch
    {
        GgmlType.F32 => 0,
        GgmlType.F16 => 1,
        GgmlType.Q4_0 => 2,
        GgmlType.Q8_0 => 7,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unsupported ggml type"),
    };

    public static void Write(PretrainedModel model, string path, GgmlType type)
    {
        var config = model.Config;
        if (config.ModelType is not ("llama" or "mistral"))
            throw new NotSupportedException($"GGUF export supports llama and mistral checkpoints, not {config.ModelType}");
        if (config.Rope.Type is not ("default" or "linear"))
            throw new NotSupportedException($"GGUF export does not support rope type '{config.Rope.Type}' yet");

        var w = new GgufWriter();
        w.Add("general.architecture", GgufValue.Of("llama"));
        w.Add("general.name", GgufValue.Of(Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(model.Directory)))));
        w.Add("general.file_type", GgufValue.Of(FileType(type)));
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
        AddTokenizer(w, model, config);
        AddTensors(w, model, config, type);
        w.Write(path);
    }

    static void AddTokenizer(GgufWriter w, PretrainedModel model, ModelConfig config)
    {
        var tokenizerPath = Path.Combine(model.Directory, "tokenizer.json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(tokenizerPath));
        var root = doc.RootElement;
        var bpe = root.GetProperty("model");
        if (bpe.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True)
            throw new NotSupportedException($"{tokenizerPath}: SentencePiece-style (byte_fallback) tokenizers are not exported to GGUF yet; only byte-level BPE (gpt2)");
        var added = new Dictionary<int, bool>();
        if (root.TryGetProperty("added_tokens", out var at) && at.ValueKind == JsonValueKind.Array)
            foreach (var t in at.EnumerateArray())
                added[t.GetProperty("id").GetInt32()] = t.TryGetProperty("special", out var sp) && sp.ValueKind == JsonValueKind.True;

        int n = Math.Max(config.VocabSize, model.Tokenizer.VocabSize);
        var tokens = new string[n];
        var types = new int[n];
        for (int id = 0; id < n; id++)
        {
            string? token = model.Tokenizer.IdToToken(id);
            tokens[id] = token ?? $"[PAD{id}]";
            types[id] = token is null ? 5 /* unused */ : added.TryGetValue(id, out bool special) ? (special ? 3 /* control */ : 4 /* user defined */) : 1 /* normal */;
        }
        var merges = new List<string>();
        if (bpe.TryGetProperty("merges", out var ms))
            foreach (var m in ms.EnumerateArray())
                merges.Add(m.ValueKind == JsonValueKind.String ? m.GetString()! : $"{m[0].GetString()} {m[1].GetString()}");

        w.Add("tokenizer.ggml.model", GgufValue.Of("gpt2"));
        w.Add("tokenizer.ggml.pre", GgufValue.Of("default"));
        w.Add("tokenizer.ggml.tokens", GgufValue.Of(tokens));
        w.Add("tokenizer.ggml.token_type", GgufValue.Of(types));
        w.Add("tokenizer.ggml.merges", GgufValue.Of(merges.ToArray()));
        if ((model.Tokenizer.BosId ?? config.BosTokenId) is int bos) w.Add("tokenizer.ggml.bos_token_id", GgufValue.Of((uint)bos));
        if ((model.Tokenizer.EosId ?? config.EosTokenIds.FirstOrDefault(-1)) is int eos and >= 0) w.Add("tokenizer.ggml.eos_token_id", GgufValue.Of((uint)eos));
        if ((model.Tokenizer.PadId ?? config.PadTokenId) is int pad) w.Add("tokenizer.ggml.padding_token_id", GgufValue.Of((uint)pad));
    }

    static void AddTensors(GgufWriter w, PretrainedModel model, ModelConfig config, GgmlType type)
    {
        using var _ = no_grad();
        foreach (var (hfName, p) in model.Model.named_parameters())
        {
            string gguf = LlamaTensorNames.ToGguf(hfName)
                ?? throw new NotSupportedException($"parameter '{hfName}' has no llama.cpp GGUF name (quantized or adapter layers are not exported)");
            long[] shape = p.shape;
            using var cpu = p.detach().to(ScalarType.Float32).cpu().contiguous();
            float[] values = cpu.data<float>().ToArray();
            if (LlamaTensorNames.PermuteHeads(gguf, config.NumHeads, config.NumKvHeads) is int heads)
                values = LlamaRowPermutation.Permute(values, (int)shape[0], shape.Length > 1 ? (int)shape[1] : 1, heads);
            var t = shape.Length == 2 && shape[1] % type.BlockSize() == 0 ? type : GgmlType.F32;
            w.AddTensor(gguf, t, shape, values);
        }
    }
}
