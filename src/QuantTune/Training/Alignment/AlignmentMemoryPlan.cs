using QuantTune.Training.Memory;

namespace QuantTune.Training.Alignment;

/// <summary>
/// What a preference-optimisation step adds to <see cref="MemoryPlanner"/>'s fine-tuning plan, as <see cref="Aligner"/>
/// runs it. Paired objectives (DPO, IPO, ORPO, SimPO) put chosen and rejected through the model in one concatenated
/// batch, so the step keeps the activations of twice the batch; KTO's unpaired completions are one sequence each. The
/// reference's log-probabilities (DPO, IPO, KTO) come from a forward pass without gradients over the same model with its
/// adapters off (for QST: the backbone through its own head), which keeps no activations for backward and holds no
/// second copy of the weights: it adds nothing to the peak beyond what the policy's forward already takes.
/// </summary>
public static class AlignmentMemoryPlan
{
    /// <summary>The plan of one step of <paramref name="objective"/> with <paramref name="request"/>'s batch of prompts (pairs or completions).</summary>
    public static MemoryPlan Plan(PlanRequest request, IAlignmentObjective objective) =>
        MemoryPlanner.Plan(request with { Batch = SequencesPerStep(request.Batch, objective) });

    /// <summary>Sequences through the model per step: both completions of each pair, or one per unpaired completion.</summary>
    public static int SequencesPerStep(int batch, IAlignmentObjective objective) => objective.Paired ? checked(2 * batch) : batch;
}
