using QuantTune.IO;
using QuantTune.Models.Config;

namespace QuantTune.Models.Families;

/// <summary>
/// Granite (<c>granite</c>, modeling_granite.py): Llama's decoder with four µP multipliers, each 1 when
/// config.json leaves it out: the embeddings times embedding_multiplier, each block's attention and MLP
/// output times residual_multiplier before its residual addition, attention scores times
/// attention_multiplier in place of head_dim^-½, the logits divided by logits_scaling. attention_bias
/// puts a bias on q, k, v and o; mlp_bias on the MLP's three projections; the head is untied unless
/// tie_word_embeddings (GraniteConfig's defaults; the published Granite 3 checkpoints tie it).
/// </summary>
public sealed class GraniteFamily : ModelFamily
{
    public override IReadOnlyList<string> ModelTypes => ["granite"];

    internal override ModelConfig Read(JsonField f, ModelConfig c)
    {
        bool attentionBias = f.OptionalBool("attention_bias") ?? false;
        return c with
        {
            QkvBias = attentionBias,
            OutputBias = attentionBias,
            MlpBias = f.OptionalBool("mlp_bias") ?? false,
            EmbeddingMultiplier = Multiplier(f, "embedding_multiplier"),
            ResidualMultiplier = Multiplier(f, "residual_multiplier"),
            AttentionMultiplier = Multiplier(f, "attention_multiplier"),
            LogitsScaling = Multiplier(f, "logits_scaling"),
        };
    }

    /// <summary>A multiplier as GraniteConfig reads it (1 when absent); it must be a positive finite number.</summary>
    static double Multiplier(JsonField f, string key)
    {
        double m = f.OptionalDouble(key) ?? 1.0;
        if (!(m > 0) || double.IsInfinity(m)) throw f.Invalid(key, $"is {m}; expected a positive number");
        return m;
    }
}
