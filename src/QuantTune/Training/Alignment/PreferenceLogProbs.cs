using QuantTune.Diagnostics;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Training.Alignment;

/// <summary>
/// What an objective's loss is computed from: per completion, the sum of the policy's log-probabilities of its
/// tokens (prompt tokens excluded) and its number of tokens, and where the objective needs them the reference
/// model's sums, the NLL of the chosen sequences, and KTO's mismatched pairs.
/// <para>
/// Paired objectives: <see cref="Chosen"/>[i] and <see cref="Rejected"/>[i] are the two completions of prompt i.
/// KTO: <see cref="Chosen"/> holds the desirable completions and <see cref="Rejected"/> the undesirable ones
/// (either may be empty), and <see cref="Mismatched"/> the completions of the batch each paired with another
/// example's prompt, for the KL estimate.
/// </para>
/// </summary>
/// <param name="Chosen">Policy Σ log p of each chosen (desirable) completion, [Nc], with its autograd graph.</param>
/// <param name="Rejected">Policy Σ log p of each rejected (undesirable) completion, [Nr].</param>
/// <param name="ChosenTokens">Tokens in each chosen completion, [Nc] (floating point).</param>
/// <param name="RejectedTokens">Tokens in each rejected completion, [Nr].</param>
public sealed record PreferenceLogProbs(Tensor Chosen, Tensor Rejected, Tensor ChosenTokens, Tensor RejectedTokens)
{
    /// <summary>The reference model's Σ log p of the chosen completions, [Nc] (no gradient).</summary>
    public Tensor? ReferenceChosen { get; init; }

    /// <summary>The reference model's Σ log p of the rejected completions, [Nr].</summary>
    public Tensor? ReferenceRejected { get; init; }

    /// <summary>Scalar: the policy's mean negative log-likelihood per token of the chosen sequences (ORPO, CPO).</summary>
    public Tensor? ChosenNll { get; init; }

    /// <summary>KTO: policy Σ log p of each completion under another example's prompt, [N] (only its value is used: TRL detaches the KL estimate).</summary>
    public Tensor? Mismatched { get; init; }

    /// <summary>KTO: the reference model's Σ log p of the same mismatched pairs, [N].</summary>
    public Tensor? ReferenceMismatched { get; init; }

    /// <summary>log π − log π_ref of the chosen and the rejected completions; <paramref name="objective"/> names who needs them in the error where the reference is missing.</summary>
    internal (Tensor Chosen, Tensor Rejected) LogRatios(string objective) =>
        (Chosen.Plus(Need(ReferenceChosen, nameof(ReferenceChosen), objective), -1.0),
         Rejected.Plus(Need(ReferenceRejected, nameof(ReferenceRejected), objective), -1.0));

    internal Tensor Need(Tensor? value, string name, string objective) =>
        value ?? throw new QuantTuneException($"{objective}: {nameof(PreferenceLogProbs)}.{name} is required");
}
