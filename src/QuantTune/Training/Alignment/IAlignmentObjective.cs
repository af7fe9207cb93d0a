namespace QuantTune.Training.Alignment;

/// <summary>
/// One preference-optimisation objective, as TRL computes it: its name, what it needs from the
/// forward passes (reference log-probabilities, the NLL of the chosen sequences, paired or
/// unpaired examples), and its loss with the metrics TRL logs. Adding an objective is one class
/// and one line in <see cref="AlignmentObjectiveRegistry.All"/>.
/// </summary>
public interface IAlignmentObjective
{
    /// <summary>The objective's name: dpo, ipo, orpo, kto, simpo.</summary>
    string Name { get; }

    /// <summary>Whether the loss compares the policy with the reference model (DPO, IPO, KTO); ORPO and SimPO have none.</summary>
    bool UsesReference { get; }

    /// <summary>Whether examples are pairs (chosen, rejected) of one prompt; false: unpaired completions labelled desirable or not (KTO).</summary>
    bool Paired { get; }

    /// <summary>Whether <see cref="PreferenceLogProbs.ChosenNll"/> is needed (ORPO; SimPO with <see cref="AlignmentOptions.CpoAlpha"/> above 0).</summary>
    bool UsesChosenNll(AlignmentOptions options);

    /// <summary>The loss (a scalar with the policy's autograd graph) and the step's metrics, under TRL's names.</summary>
    AlignmentLoss Compute(PreferenceLogProbs logps, AlignmentOptions options);
}
