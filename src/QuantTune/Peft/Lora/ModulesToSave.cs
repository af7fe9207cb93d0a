using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.Models.Layers;
using QuantTune.Models.Transformer;
using Parameter = TorchSharp.Modules.Parameter;
using Linear = QuantTune.Models.Layers.Linear;
using static TorchSharp.torch;

namespace QuantTune.Peft.Lora;

/// <summary>
/// PEFT's <c>modules_to_save</c>: modules trained whole next to the adapter and saved whole, as a
/// chat fine-tune does with the embedding and the LM head when it gives new tokens their rows.
/// PEFT writes them under the module's path without the adapter name,
/// <c>base_model.model.model.embed_tokens.weight</c> and <c>base_model.model.lm_head.weight</c>.
/// QuantTune reads the two a causal LM has; a tied LM head saved on its own is untied, as PEFT's
/// copy of it was.
/// </summary>
public static class ModulesToSave
{
    const string Head = "lm_head";
    /// <summary>The embedding's path in Llama's names and in GPT-2's.</summary>
    static readonly string[] Embeddings = [Models.Config.ModuleNames.Llama.EmbeddingPath, Models.Config.ModuleNames.Gpt2.EmbeddingPath];

    /// <summary>The model path of each entry of <paramref name="names"/> (PEFT matches the end of the path).</summary>
    public static IReadOnlyList<string> Resolve(IReadOnlyList<string>? names, string file = AdapterConfig.FileName)
    {
        if (names is null) return [];
        var paths = new List<string>();
        foreach (var name in names)
        {
            var path = Embeddings.Append(Head).FirstOrDefault(p => p == name || p.EndsWith("." + name, StringComparison.Ordinal))
                ?? throw new InvalidFormatException(file, "modules_to_save", $"'{name}' is not supported; QuantTune reads the embedding (embed_tokens, GPT-2's wte) and the LM head (lm_head) saved whole");
            if (!paths.Contains(path)) paths.Add(path);
        }
        return paths;
    }

    /// <summary>The key PEFT saves the module's weight under.</summary>
    public static string Key(string path) => AdapterIO.KeyPrefix + path + ".weight";

    /// <summary>The shape each saved module must have: the model's vocabulary by its hidden size.</summary>
    public static long[] Shape(CausalLM model) => [model.Config.VocabSize, model.Config.HiddenSize];

    /// <summary>Why a saved module of <paramref name="shape"/> does not fit, or null when it does.</summary>
    public static string? Misfit(CausalLM model, long[] shape)
    {
        var want = Shape(model);
        if (shape.SequenceEqual(want)) return null;
        return shape.Length == 2 && shape[1] == want[1]
            ? $"has {shape[0]} rows but the model's vocabulary has {want[0]}: the adapter was trained after resizing the vocabulary; " +
              $"QuantTune reads modules_to_save at the model's own vocabulary size (set vocab_size to {shape[0]} in a copy of the base model with its embedding resized)"
            : $"has shape [{string.Join(", ", shape)}]; expected [{string.Join(", ", want)}] (vocab_size × hidden_size)";
    }

    /// <summary>Copies the saved modules into <paramref name="model"/>; they train only when <paramref name="trainable"/>.</summary>
    public static void Load(CausalLM model, IReadOnlyList<string> paths, SafetensorsFile file, bool trainable)
    {
        using var _ = no_grad();
        foreach (var path in paths)
        {
            using var saved = file.ToTensor(Key(path), model.DType, model.Device);
            var weight = Table(model, path);
            weight.copy_(saved);
            weight.requires_grad = trainable;
        }
    }

    /// <summary>Makes the saved modules' weights trainable, as PEFT does when it wraps them for training.</summary>
    public static void Train(CausalLM model, IReadOnlyList<string> paths)
    {
        foreach (var path in paths) Table(model, path).requires_grad = true;
    }

    /// <summary>The weight the module at <paramref name="path"/> stands for: the embedding table, or the LM head's own (a tied head is untied first).</summary>
    static Parameter Table(CausalLM model, string path)
    {
        if (path != Head) return model.model.embed_tokens.weight;
        if (model.lm_head is null) Untie(model);
        return model.lm_head!.weight;
    }

    /// <summary>The modules' weights, under PEFT's keys, for saving.</summary>
    public static IEnumerable<KeyValuePair<string, Tensor>> Entries(CausalLM model, IReadOnlyList<string> paths) =>
        paths.Select(p => new KeyValuePair<string, Tensor>(Key(p), (p != Head ? model.model.embed_tokens.weight : model.HeadWeight).detach()));

    /// <summary>Gives a tied model an LM head of its own, starting as a copy of the embedding.</summary>
    static void Untie(CausalLM model)
    {
        var c = model.Config;
        var head = new Linear(c.HiddenSize, c.VocabSize, false, model.DType, model.Device);
        using (no_grad()) head.weight.copy_(model.model.embed_tokens.weight);
        model.lm_head = head;
        model.register_module("lm_head", head);
    }
}
