using QuantTune.Models.Transformer;
using static TorchSharp.torch;

namespace QuantTune.Peft.Registry;

/// <summary>
/// One kind of adapter folder, by the <c>peft_type</c> its adapter_config.json names (PEFT's <c>PeftType</c>): how
/// it is put onto a loaded model. Adding a kind is a class and a line in <see cref="PeftAdapterTypes.All"/>.
/// </summary>
public interface IPeftAdapterType
{
    /// <summary>The <c>peft_type</c> value, as PEFT writes it (LORA, IA3, PROMPT_TUNING, ...).</summary>
    string PeftType { get; }

    /// <summary>
    /// Reads the adapter in <paramref name="directory"/> onto <paramref name="model"/>; returns the forward to use
    /// instead of the model's own when the adapter wraps it (prompt tuning's virtual tokens), else null.
    /// </summary>
    Func<Tensor, Tensor>? Load(CausalLM model, string directory);
}
