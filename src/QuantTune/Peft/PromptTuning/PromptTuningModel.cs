using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Models.Transformer;
using QuantTune.Peft.Common;
using QuantTune.Tokenization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Peft.PromptTuning;

/// <summary>
/// A frozen causal LM behind <c>prompt_embeddings</c> [n, hidden], the only parameter of this
/// module: <see cref="Forward"/> prepends the virtual tokens to the input embeddings and returns
/// logits for the real tokens only, so a trainer's labels line up with its inputs. Give this
/// module to the trainer as its model. The base is held, not registered: its parameters are
/// frozen and this module does not dispose it.
/// Saved as PEFT does: adapter_model.safetensors with <c>prompt_embeddings</c>, and
/// adapter_config.json with <c>peft_type: "PROMPT_TUNING"</c>.
/// </summary>
public sealed class PromptTuningModel : nn.Module<Tensor, Tensor>
{
    public const string PeftType = "PROMPT_TUNING";
    const string Key = "prompt_embeddings";

    public readonly Parameter prompt_embeddings;

    /// <summary>The frozen model the prompt steers.</summary>
    public CausalLM Base { get; }

    public int NumVirtualTokens => (int)prompt_embeddings.shape[0];

    PromptTuningModel(CausalLM baseModel, Tensor initial) : base(nameof(PromptTuningModel))
    {
        Base = baseModel;
        prompt_embeddings = new Parameter(initial.to(baseModel.Device));
        RegisterComponents();
    }

    /// <summary>
    /// Freezes <paramref name="model"/> and creates the virtual tokens (random ones drawn from
    /// <paramref name="seed"/>; TEXT init needs <paramref name="tokenizer"/>).
    /// </summary>
    public static PromptTuningModel Apply(CausalLM model, PromptTuningConfig config, long seed, HfTokenizer? tokenizer = null)
    {
        if (config.NumVirtualTokens < 1) throw new QuantTuneException($"PROMPT_TUNING: num_virtual_tokens must be at least 1, not {config.NumVirtualTokens}");
        ParameterFreezing.FreezeAll(model);
        using var generator = new Generator((ulong)seed);
        using var initial = PromptEmbedding.Initial(model.model.embed_tokens.weight, config, tokenizer, generator, PeftDType.For(model.DType));
        return new PromptTuningModel(model, initial);
    }

    public override Tensor forward(Tensor ids) => Forward(ids);

    /// <summary>
    /// Logits [B, T, vocab] for token ids [B, T]. With a cache, the virtual tokens are prepended
    /// only on the first call (while the cache is empty), as they are then cached like any token.
    /// </summary>
    public Tensor Forward(Tensor ids, KvCache? cache = null)
    {
        using var scope = NewDisposeScope();
        return Base.Head(Hidden(ids, cache)).MoveToOuterDisposeScope();
    }

    /// <summary>The final normed hidden states [B, T, H] of <paramref name="ids"/> (the virtual tokens' positions left out), before the LM head.</summary>
    public Tensor Hidden(Tensor ids) => Hidden(ids, null);

    Tensor Hidden(Tensor ids, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        var embeds = Base.model.Embed(ids);
        bool prepend = cache is null || cache.Length == 0;
        if (prepend)
        {
            var prompt = prompt_embeddings.to_type(embeds.dtype).unsqueeze(0).expand(ids.shape[0], -1, -1);
            embeds = cat([prompt, embeds], 1);
        }
        var hidden = Base.model.ForwardEmbeddings(embeds, cache);
        if (prepend) hidden = hidden.narrow(1, NumVirtualTokens, ids.shape[1]);
        return hidden.MoveToOuterDisposeScope();
    }

    public void Save(PromptTuningConfig config, string outDir) => Save(this, config, outDir);

    public static void Save(PromptTuningModel model, PromptTuningConfig config, string outDir)
    {
        var c = model.Base.Config;
        // PEFT's PromptTuningConfig refuses TEXT without the tokenizer that tokenized the text; ours came with the base model.
        var tokenizerPath = config.TokenizerNameOrPath ?? (config.Init == PromptTuningInit.Text ? config.BaseModelNameOrPath : null);
        if (config.Init == PromptTuningInit.Text && tokenizerPath is null)
            throw new QuantTuneException("PROMPT_TUNING with TEXT init: set TokenizerNameOrPath or BaseModelNameOrPath; PEFT refuses a TEXT config without tokenizer_name_or_path");
        var json = new JsonObject
        {
            ["peft_type"] = PeftType,
            ["task_type"] = "CAUSAL_LM",
            ["base_model_name_or_path"] = config.BaseModelNameOrPath,
            ["num_virtual_tokens"] = model.NumVirtualTokens,
            ["token_dim"] = c.HiddenSize,
            ["num_transformer_submodules"] = 1,
            ["num_attention_heads"] = c.NumHeads,
            ["num_layers"] = c.NumLayers,
            ["prompt_tuning_init"] = PromptTuningConfig.InitName(config.Init),
            ["prompt_tuning_init_text"] = config.InitText,
            ["tokenizer_name_or_path"] = tokenizerPath,
            ["inference_mode"] = true,
        };
        PeftFiles.Write(outDir, json, [new(Key, model.prompt_embeddings)]);
    }

    /// <summary>Reads a PEFT prompt-tuning folder and puts its prompt in front of <paramref name="model"/>.</summary>
    public static (PromptTuningModel Model, PromptTuningConfig Config) Load(CausalLM model, string dir)
    {
        var root = PeftFiles.ReadConfig(dir, PeftType);
        string configPath = Path.Combine(dir, PeftFiles.ConfigFile);
        int tokenDim = PeftFiles.Int(root, dir, "token_dim");
        if (tokenDim != model.Config.HiddenSize)
            throw new InvalidFormatException(configPath, "token_dim", $"is {tokenDim}; the model's hidden size is {model.Config.HiddenSize}");
        int submodules = root.TryGetProperty("num_transformer_submodules", out var s) && s.ValueKind != System.Text.Json.JsonValueKind.Null
            ? PeftFiles.Int(root, dir, "num_transformer_submodules") : 1;
        if (submodules != 1)
            throw new InvalidFormatException(configPath, "num_transformer_submodules", $"is {submodules}; a decoder-only model has 1");
        var initName = PeftFiles.OptionalString(root, dir, "prompt_tuning_init") ?? "RANDOM";
        var config = new PromptTuningConfig
        {
            NumVirtualTokens = PeftFiles.Int(root, dir, "num_virtual_tokens"),
            Init = PromptTuningConfig.ParseInit(initName) ?? throw new InvalidFormatException(configPath, "prompt_tuning_init", $"is '{initName}'; expected RANDOM, SAMPLE_VOCAB or TEXT"),
            InitText = PeftFiles.OptionalString(root, dir, "prompt_tuning_init_text"),
            TokenizerNameOrPath = PeftFiles.OptionalString(root, dir, "tokenizer_name_or_path"),
            BaseModelNameOrPath = PeftFiles.OptionalString(root, dir, "base_model_name_or_path"),
        };
        PeftFiles.FitsWeights(dir, "num_virtual_tokens", config.NumVirtualTokens, () => checked((long)config.NumVirtualTokens * tokenDim));
        // The loaded values replace the init, so a cheap deterministic one is used whatever the config says.
        var result = PeftFiles.Applying(dir, "num_virtual_tokens", () => Apply(model, config with { Init = PromptTuningInit.Random }, seed: 0));
        PeftFiles.LoadTensors(dir, new Dictionary<string, Tensor> { [Key] = result.prompt_embeddings });
        return (result, config);
    }
}
