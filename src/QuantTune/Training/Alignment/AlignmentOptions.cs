using QuantTune.Diagnostics;

namespace QuantTune.Training.Alignment;

/// <summary>
/// The objectives' hyperparameters, with TRL's defaults (DPOConfig, KTOConfig, ORPOConfig, CPOConfig).
/// </summary>
public sealed record AlignmentOptions
{
    /// <summary>β: DPO's and KTO's deviation from the reference, IPO's τ, ORPO's λ (weight of the odds-ratio term), SimPO's reward scale. TRL: 0.1.</summary>
    public double Beta { get; init; } = 0.1;

    /// <summary>
    /// ε, the probability that a preference label is flipped (conservative DPO, cDPO): the sigmoid loss becomes
    /// −(1−ε)·log σ(βΔ) − ε·log σ(−βΔ), as TRL's sigmoid DPO loss and its CPO/SimPO losses compute it. 0: plain DPO.
    /// </summary>
    public double LabelSmoothing { get; init; }

    /// <summary>SimPO's target reward margin γ (TRL's simpo_gamma): 0.5.</summary>
    public double SimPoGamma { get; init; } = 0.5;

    /// <summary>
    /// Weight of the NLL of the chosen completions added to the SimPO loss (TRL's cpo_alpha). 0, SimPO as its paper
    /// states it, is the default here (TRL's CPOConfig defaults to 1.0, CPO-SimPO; set 1 for that).
    /// </summary>
    public double CpoAlpha { get; init; }

    /// <summary>KTO's weight of the desirable examples' losses (TRL: 1.0).</summary>
    public double DesirableWeight { get; init; } = 1.0;

    /// <summary>KTO's weight of the undesirable examples' losses (TRL: 1.0).</summary>
    public double UndesirableWeight { get; init; } = 1.0;

    /// <summary>Throws where a value is outside its range, naming the property.</summary>
    public void Validate()
    {
        if (!(Beta > 0) || !double.IsFinite(Beta)) throw new InvalidSettingException("AlignmentOptions.Beta", Beta, "expected a positive number");
        if (!(LabelSmoothing >= 0 && LabelSmoothing < 0.5)) throw new InvalidSettingException("AlignmentOptions.LabelSmoothing", LabelSmoothing, "expected a probability in [0, 0.5)");
        if (!double.IsFinite(SimPoGamma)) throw new InvalidSettingException("AlignmentOptions.SimPoGamma", SimPoGamma, "expected a finite number");
        if (!(CpoAlpha >= 0) || !double.IsFinite(CpoAlpha)) throw new InvalidSettingException("AlignmentOptions.CpoAlpha", CpoAlpha, "expected a number ≥ 0");
        if (!(DesirableWeight > 0) || !double.IsFinite(DesirableWeight)) throw new InvalidSettingException("AlignmentOptions.DesirableWeight", DesirableWeight, "expected a positive number");
        if (!(UndesirableWeight > 0) || !double.IsFinite(UndesirableWeight)) throw new InvalidSettingException("AlignmentOptions.UndesirableWeight", UndesirableWeight, "expected a positive number");
    }
}
