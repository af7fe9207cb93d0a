using QuantTune.IO;
using QuantTune.Models.Config;

namespace QuantTune.Models.Families;

/// <summary>
/// Gemma 2: the Gemma quirks (<see cref="GemmaQuirks"/>) without q/k norms, with tanh soft-capping
/// of the attention logits (attn_logit_softcapping, 50) and of the final logits
/// (final_logit_softcapping, 30); sliding-window and global layers alternate, one RoPE base.
/// </summary>
public sealed class Gemma2Family : ModelFamily
{
    public override IReadOnlyList<string> ModelTypes => ["gemma2"];
    internal override string ActivationKey => "hidden_activation";
    internal override bool TiedByDefault => true;

    internal override ModelConfig Read(JsonField f, ModelConfig c) => GemmaQuirks.Apply(f, c, defaultSlidingPattern: 2);
}
