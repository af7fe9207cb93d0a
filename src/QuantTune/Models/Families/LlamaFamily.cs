using QuantTune.IO;
using QuantTune.Models.Config;

namespace QuantTune.Models.Families;

/// <summary>
/// Llama: the shared decoder as it is (pre-norm RMSNorm w·x̂, SwiGLU, RoPE). attention_bias puts a
/// bias on q, k, v and o; mlp_bias on the three MLP projections; head_dim may differ from
/// hidden/heads.
/// </summary>
public sealed class LlamaFamily : ModelFamily
{
    public override IReadOnlyList<string> ModelTypes => ["llama"];

    internal override ModelConfig Read(JsonField f, ModelConfig c)
    {
        bool attentionBias = f.OptionalBool("attention_bias") ?? false;
        return c with { QkvBias = attentionBias, OutputBias = attentionBias, MlpBias = f.OptionalBool("mlp_bias") ?? false };
    }
}
