using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Families;

namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>
/// <c>granite</c>: convert_hf_to_gguf.py's GraniteModel (llama.cpp release v0.5.0, conversion/granite.py), a LlamaModel
/// (Llama's keys and q/k row permutation) that drops head_dim and adds the four µP multipliers under llama.cpp's names:
/// <c>attention.scale</c> (attention_multiplier, the factor on q·k), <c>embedding_scale</c> (embedding_multiplier),
/// <c>residual_scale</c> (residual_multiplier) and <c>logit_scale</c> (logits_scaling). llama.cpp's granite
/// (src/models/granite.cpp) multiplies by the first three and divides the logits by the last, as transformers does.
/// </summary>
public sealed class GraniteArchitecture : LlamaArchitecture
{
    /// <inheritdoc/>
    public override string Name => "granite";

    /// <inheritdoc/>
    public override bool Takes(ModelFamily family) => family is GraniteFamily;

    /// <summary>Refuses a head size other than hidden / heads: the converter drops head_dim and llama.cpp takes hidden / heads.</summary>
    public override void CheckRepresentable(ModelConfig config, string directory)
    {
        base.CheckRepresentable(config, directory);
        if (config.NumHeads * config.HeadDim != config.HiddenSize)
            throw new InvalidFormatException(Path.Combine(directory, "config.json"), "head_dim",
                $"is {config.HeadDim}; the GGUF converter drops Granite's head_dim and llama.cpp's granite takes hidden_size / num_attention_heads ({config.HiddenSize / config.NumHeads}), so a GGUF would not load or would compute other logits");
    }

    /// <summary>The converter pops head_dim from Granite's config before TextModel's keys: no key/value length.</summary>
    protected override bool WritesHeadLength(ModelConfig config) => false;

    /// <summary>
    /// Llama's keys, then the four multipliers. The converter writes each only where config.json sets it (GraniteConfig's
    /// default is 1); they are written here always, so that an attention_multiplier left at 1 is not read by llama.cpp
    /// as its own default, head_dim^-½, and because llama.cpp requires <c>logit_scale</c>.
    /// </summary>
    public override IEnumerable<(string Key, GgufValue Value)> Hyperparameters(ModelConfig config)
    {
        foreach (var kv in base.Hyperparameters(config)) yield return kv;
        yield return (Key("attention.scale"), GgufValue.Of((float)(config.AttentionMultiplier ?? 1.0)));
        yield return (Key("embedding_scale"), GgufValue.Of((float)(config.EmbeddingMultiplier ?? 1.0)));
        yield return (Key("residual_scale"), GgufValue.Of((float)(config.ResidualMultiplier ?? 1.0)));
        yield return (Key("logit_scale"), GgufValue.Of((float)(config.LogitsScaling ?? 1.0)));
    }

    /// <summary>
    /// Llama's config with the multipliers as llama.cpp takes them: <c>logit_scale</c> required and positive; an absent
    /// (or 0) embedding or residual scale multiplies by nothing, an absent attention scale is head_dim^-½.
    /// </summary>
    public override ModelConfig ReadConfig(GgufFile file)
    {
        var c = base.ReadConfig(file);
        string logitKey = Key("logit_scale");
        double logits = file.OptionalNumber(logitKey) ?? throw new InvalidFormatException(file.Path, logitKey, "is missing; llama.cpp's granite requires it (the logits are divided by it)");
        if (!(logits > 0) || double.IsInfinity(logits)) throw new InvalidFormatException(file.Path, logitKey, $"is {logits}; expected a positive number");
        double? Scale(string key) => file.OptionalNumber(Key(key)) is double s && s != 0 ? s : null;
        return c with
        {
            AttentionMultiplier = Scale("attention.scale"),
            EmbeddingMultiplier = Scale("embedding_scale"),
            ResidualMultiplier = Scale("residual_scale"),
            LogitsScaling = logits,
        };
    }
}
