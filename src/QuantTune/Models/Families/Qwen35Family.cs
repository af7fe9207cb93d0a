using QuantTune.IO;
using QuantTune.Models.Config;

namespace QuantTune.Models.Families;

/// <summary>
/// Qwen3.5 (<c>qwen3_5_text</c>, and the text model of a <c>qwen3_5</c> image-text checkpoint,
/// whose vision tower is left out): a hybrid decoder whose layers mix tokens by Gated DeltaNet
/// linear attention (<see cref="LinearAttention"/>, three layers in four by default) or by gated
/// softmax attention (q_proj also yields a sigmoid gate on the attention's output; per-head q/k
/// norms; RoPE on the first partial_rotary_factor of each head, 0.25 by default). Every RMSNorm
/// but the linear attention's gated one scales by (1 + weight), as Gemma's. For text, Qwen3.5's
/// multimodal RoPE (mrope_section) sees the same position on every axis, which is plain RoPE.
/// </summary>
public sealed class Qwen35Family : ModelFamily
{
    public override IReadOnlyList<string> ModelTypes => ["qwen3_5_text", "qwen3_5"];

    internal override JsonField TextConfig(JsonField f) =>
        f.String("model_type") == "qwen3_5" ? f.Required("text_config", "the text model's config (Qwen3_5TextConfig)").AsObject() : f;

    internal override ModelConfig Read(JsonField f, ModelConfig c)
    {
        var parameters = f.Object("rope_parameters");
        double partial = PartialRotary.Read(f, c.HeadDim, fallback: 0.25);
        if (c.Rope.Type != "default")
            throw f.Invalid(ModelConfig.RopeTypeField(f), $"'{c.Rope.Type}' is not read for Qwen3.5; expected default");
        bool attentionBias = f.OptionalBool("attention_bias") ?? false;
        int[]? sections = parameters?.Optional("mrope_section")?.Items().Select(i => i.GetInt32()).ToArray();
        return c with
        {
            Norm = NormKind.OffsetOne,
            QkNorm = true,
            QkvBias = attentionBias,
            OutputBias = attentionBias,
            AttentionOutputGate = true,
            PartialRotaryFactor = partial,
            RopeSections = sections,
            LinearAttention = LinearAttention.Read(f, c.NumLayers),
            CheckpointStack = c.ModelType == "qwen3_5" ? "model.language_model" : null,
        };
    }
}
