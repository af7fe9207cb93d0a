using QuantTune.IO;
using QuantTune.Models.Config;

namespace QuantTune.Models.Families;

/// <summary>Mistral: Llama's decoder with sliding-window attention on every layer when sliding_window is set (Mistral NeMo: head_dim 128 with hidden 5120, 32 heads).</summary>
public sealed class MistralFamily : ModelFamily
{
    public override IReadOnlyList<string> ModelTypes => ["mistral"];

    internal override ModelConfig Read(JsonField f, ModelConfig c)
    {
        bool attentionBias = f.OptionalBool("attention_bias") ?? false;
        bool sliding = f.OptionalBool("use_sliding_window") ?? true;
        return c with
        {
            QkvBias = attentionBias,
            OutputBias = attentionBias,
            MlpBias = f.OptionalBool("mlp_bias") ?? false,
            SlidingWindow = sliding ? f.OptionalInt("sliding_window") : null,
        };
    }
}
