using QuantTune.IO;
using QuantTune.Models.Config;

namespace QuantTune.Models.Families;

/// <summary>
/// Phi-3 and Phi-4 (<c>phi3</c>): Llama's decoder with queries, keys and values in one linear
/// (<c>qkv_proj</c>) and gate and up in one (<c>gate_up_proj</c>); RoPE on the first
/// partial_rotary_factor of each head (Phi-4-mini: 0.75); LongRoPE with short and long factors
/// (Phi-3 128K, Phi-4-mini); a sliding window on every layer where sliding_window is set
/// (Phi-3-mini-4k: 2047); no biases.
/// </summary>
public sealed class Phi3Family : ModelFamily
{
    public override IReadOnlyList<string> ModelTypes => ["phi3"];

    /// <summary>Phi3Config's original_max_position_embeddings when config.json has none.</summary>
    const int DefaultOriginalContext = 4096;

    internal override ModelConfig Read(JsonField f, ModelConfig c)
    {
        double partial = PartialRotary.Read(f, c.HeadDim, fallback: 1.0);
        var phi = c with
        {
            Projections = ProjectionLayout.Fused,
            PartialRotaryFactor = partial,
            SlidingWindow = f.OptionalInt("sliding_window"),
        };
        int rotary = phi.RotaryDimOf(c.HeadDim);
        if (c.Rope.Type is not ("longrope" or "default"))
            throw f.Invalid(ModelConfig.RopeTypeField(f), $"'{c.Rope.Type}' is not a Phi-3 RoPE; expected longrope or none (Phi3Config accepts only longrope)");
        // plain RoPE ignores the original context, but GGUF records it (rope.scaling.original_context_length)
        int original = LongRope.OriginalContext(f, DefaultOriginalContext);
        return phi with
        {
            Rope = c.Rope.Type == "longrope"
                ? LongRope.Resolve(f, c.Rope, c.MaxPositionEmbeddings, rotary, original)
                : c.Rope with { OriginalMaxPositionEmbeddings = original },
        };
    }
}
