using QuantTune.IO;
using QuantTune.Models.Config;

namespace QuantTune.Models.Families;

/// <summary>
/// What Gemma 2 and Gemma 3 share: RMSNorm as x̂·(1+w) in fp32 (<see cref="NormKind.OffsetOne"/>),
/// four norms per layer (<see cref="NormPlacement.Sandwich"/>), GeGLU with tanh-approximated GELU,
/// the embedding multiplied by √hidden, attention scaled by query_pre_attn_scalar^-½, a tied head,
/// and sliding-window layers interleaved with global ones.
/// </summary>
internal static class GemmaQuirks
{
    public static ModelConfig Apply(JsonField f, ModelConfig c, int defaultSlidingPattern)
    {
        bool attentionBias = f.OptionalBool("attention_bias") ?? false;
        return c with
        {
            Norm = NormKind.OffsetOne,
            Placement = NormPlacement.Sandwich,
            ScaleEmbedding = true,
            QueryPreAttentionScalar = f.OptionalDouble("query_pre_attn_scalar") ?? c.HeadDim,
            AttentionSoftcap = f.OptionalDouble("attn_logit_softcapping"),
            FinalLogitSoftcap = f.OptionalDouble("final_logit_softcapping"),
            QkvBias = attentionBias,
            OutputBias = attentionBias,
            SlidingWindow = f.OptionalInt("sliding_window"),
            SlidingLayers = SlidingLayers(f, c.NumLayers, defaultSlidingPattern),
        };
    }

    /// <summary>
    /// Which layers use the sliding window: from <c>layer_types</c> ("sliding_attention" /
    /// "full_attention"), or from <c>sliding_window_pattern</c> p as transformers derives them
    /// (layer i slides unless (i+1) is a multiple of p).
    /// </summary>
    internal static bool[] SlidingLayers(JsonField f, int layers, int defaultPattern)
    {
        if (f.Optional("layer_types") is JsonField types)
        {
            var kinds = types.Items().Select(t => t.GetString() switch
            {
                "sliding_attention" => true,
                "full_attention" => false,
                var other => throw types.Invalid($"holds '{other}'; expected sliding_attention or full_attention"),
            }).ToArray();
            if (kinds.Length != layers) throw f.Invalid("layer_types", $"has {kinds.Length} entries; expected one per layer ({layers})");
            return kinds;
        }
        int pattern = f.OptionalInt("sliding_window_pattern") ?? defaultPattern;
        if (pattern < 1) throw f.Invalid("sliding_window_pattern", $"is {pattern}; expected a positive integer");
        return Enumerable.Range(0, layers).Select(i => (i + 1) % pattern != 0).ToArray();
    }
}
