using QuantTune.Diagnostics;
using QuantTune.Models.Transformer;
using QuantTune.Peft.Lora;
using QuantTune.Training.FineTuning;
using QuantTune.Training.FineTuning.Methods;
using static TorchSharp.torch;

namespace QuantTune.Training.Alignment.Grpo;

/// <summary>
/// GRPO's reference model, per token, from the model being trained as <see cref="ReferenceModel"/> takes it for the
/// preference objectives: for LoRA, QLoRA and DoRA the model with its adapters switched off (TRL's
/// <c>disable_adapter()</c> when the policy is a PEFT model); for QST the frozen backbone through its own LM head,
/// without the side network, the model QST starts from. Full fine-tuning keeps no frozen copy: it has no reference.
/// </summary>
public static class GrpoReference
{
    /// <summary>log p of each position's label under the reference (ids, labels → [R, T]); null for full fine-tuning.</summary>
    public static Func<Tensor, Tensor, Tensor>? For(FineTuneMethod method, CausalLM model)
    {
        var plain = FineTuneMethodRegistry.PlainForward(model);
        return method switch
        {
            FineTuneMethod.Lora or FineTuneMethod.Qlora or FineTuneMethod.Dora => (ids, labels) =>
            {
                using var off = new DisabledAdapters(model);
                return TokenLogProbs.Compute(plain, ids, labels);
            },
            FineTuneMethod.Qst => (ids, labels) => TokenLogProbs.Compute(plain, ids, labels),
            FineTuneMethod.Full => null,
            _ => throw new QuantTuneException($"{nameof(FineTuneRequest.Method)} {method}: GRPO trains lora, qlora, dora, qst or full"),
        };
    }
}
