using QuantTune.IO;
using QuantTune.Models.Config;

namespace QuantTune.Models.Families;

/// <summary>
/// Gemma 3 text (gemma3_text): the Gemma quirks (<see cref="GemmaQuirks"/>) with q/k norms (x̂·(1+w)
/// over head_dim), five sliding-window layers to each global one by default, and separate RoPE
/// for the two kinds: <c>rope_parameters</c> keyed by layer type, or the older rope_theta (and
/// rope_scaling) for global layers and rope_local_base_freq for sliding ones. The multimodal
/// <c>gemma3</c> checkpoint (vision tower, text model under language_model) is refused with the
/// reason: its text part would need its own weight names.
/// </summary>
public sealed class Gemma3Family : ModelFamily
{
    public override IReadOnlyList<string> ModelTypes => ["gemma3_text", "gemma3"];
    internal override string ActivationKey => "hidden_activation";
    internal override bool TiedByDefault => true;

    internal override ModelConfig Read(JsonField f, ModelConfig c)
    {
        if (c.ModelType == "gemma3")
            throw f.Invalid("model_type", "'gemma3' is a Gemma3ForConditionalGeneration checkpoint (vision tower and text model); QuantTune loads Gemma 3's text model from gemma3_text checkpoints (Gemma3ForCausalLM, e.g. gemma-3-1b or gemma-3-270m) only");
        var gemma = GemmaQuirks.Apply(f, c, defaultSlidingPattern: 6) with { QkNorm = true };
        if (f.Optional("rope_parameters") is JsonField byType && byType.Has("full_attention"))
            return gemma with
            {
                Rope = ModelConfig.ReadRopeParameters(byType.Required("full_attention", "the global layers' RoPE parameters"), 1e6),
                LocalRope = byType.Optional("sliding_attention") is JsonField local ? ModelConfig.ReadRopeParameters(local, 10000.0) : new RopeConfig(10000.0),
            };
        return gemma with
        {
            Rope = ModelConfig.ReadRopeParameters(f.Optional("rope_scaling") ?? f, f.OptionalDouble("rope_theta") ?? 1e6),
            LocalRope = new RopeConfig(f.OptionalDouble("rope_local_base_freq") ?? 10000.0),
        };
    }
}
