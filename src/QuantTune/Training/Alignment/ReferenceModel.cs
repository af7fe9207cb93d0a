using QuantTune.Diagnostics;
using QuantTune.Models.Transformer;
using QuantTune.Peft.Lora;
using QuantTune.Training.FineTuning;
using QuantTune.Training.FineTuning.Methods;
using static TorchSharp.torch;

namespace QuantTune.Training.Alignment;

/// <summary>
/// The reference model of an objective that has one, from the model being trained, never a second loaded copy:
/// for LoRA, QLoRA and DoRA the same model with its adapters switched off (PEFT's <c>disable_adapter()</c>, as TRL
/// does for a PEFT model without ref_model), that is the (quantized) base the adapter started from; for QST the
/// frozen backbone through its own LM head, without the side network: the model QST starts from, since the side
/// network's output only joins the backbone's final state through the learned mix.
/// </summary>
public static class ReferenceModel
{
    /// <summary>Σ log p of each row's labelled tokens under the reference (ids, labels → [R]); null for <paramref name="method"/> full, which keeps no frozen copy.</summary>
    public static Func<Tensor, Tensor, Tensor>? For(FineTuneMethod method, CausalLM model) =>
        Scoring(method, model, (forward, ids, labels) => SequenceLogProbs.Compute(forward, ids, labels).Sums);

    /// <summary>
    /// <paramref name="score"/> (a forward pass, ids, labels → log-probabilities in the caller's shape, such as GRPO's per
    /// token) run over the reference; null for <paramref name="method"/> full, which keeps no frozen copy.
    /// </summary>
    public static Func<Tensor, Tensor, Tensor>? Scoring(FineTuneMethod method, CausalLM model, Func<LanguageModelForward, Tensor, Tensor, Tensor> score)
    {
        var plain = FineTuneMethodRegistry.PlainForward(model);
        return method switch
        {
            FineTuneMethod.Lora or FineTuneMethod.Qlora or FineTuneMethod.Dora => (ids, labels) =>
            {
                using var off = new DisabledAdapters(model);
                return score(plain, ids, labels);
            },
            // The QST model wraps the loaded model: run on its own, it is the backbone and its LM head.
            FineTuneMethod.Qst => (ids, labels) => score(plain, ids, labels),
            FineTuneMethod.Full => null,
            _ => throw new QuantTuneException($"{nameof(FineTuneRequest.Method)} {method}: a reference model is taken for lora, qlora, dora, qst (none for full)"),
        };
    }

    /// <summary>What the reference is, for the summary.</summary>
    public static string Describe(FineTuneMethod method, bool used) => !used ? "none (the objective has no reference model)" : method switch
    {
        FineTuneMethod.Qst => "the frozen NF4 backbone through its own LM head, without the side network",
        FineTuneMethod.Qlora => "the NF4 base with the adapter disabled",
        _ => "the base model with the adapter disabled",
    };
}
