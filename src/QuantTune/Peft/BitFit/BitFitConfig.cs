namespace QuantTune.Peft.BitFit;

/// <summary>
/// BitFit (Ben Zaken et al. 2021, "BitFit: Simple Parameter-efficient Fine-tuning for
/// Transformer-based Masked Language-models"): train only the bias terms.
/// Llama and Mistral layers have no biases, so BitFit there adds zero-initialised biases to the
/// linear layers (the model is unchanged until training moves them) and trains those; where a
/// layer has a bias (Qwen2's q/k/v projections) that bias is unfrozen and trained. PEFT has no
/// BitFit tuner; the folder format is ours (peft_type "BITFIT").
/// </summary>
public sealed record BitFitConfig
{
    /// <summary>
    /// Module names (or path suffixes) of the linear layers whose biases train; empty means every
    /// linear layer but the LM head (whose bias would only shift the logits of each token).
    /// </summary>
    public IReadOnlyList<string> TargetModules { get; init; } = [];

    public string? BaseModelNameOrPath { get; init; }
}
