using QuantTune.Training.Memory;

namespace QuantTune.Training.Alignment.Grpo;

/// <summary>
/// The memory of one GRPO step as <see cref="GrpoStep"/> runs it, in two phases that do not overlap. Sampling decodes each
/// prompt's G completions as one batch of G rows without autograd: the weights, the optimizer state, and a KV cache of G
/// rows × (prompt + completion) tokens in every layer. Training then puts the batch's prompts × G sequences through the
/// model with autograd, as <see cref="MemoryPlanner"/> plans a fine-tuning step of that many sequences. The reference's
/// per-token log-probabilities (β above 0) come from the same weights without gradients and keep nothing for backward.
/// The step's peak is the larger phase's.
/// </summary>
public static class GrpoMemoryPlan
{
    /// <summary>
    /// The plan of a step over <paramref name="request"/>'s batch of prompts, each sampled <paramref name="generations"/>
    /// times, with <see cref="PlanRequest.Sequence"/> the longest prompt plus completion.
    /// </summary>
    public static MemoryPlan Plan(PlanRequest request, int generations)
    {
        if (generations < 2) throw new Diagnostics.InvalidSettingException("GrpoOptions.NumGenerations", generations, "GRPO compares each completion with the others of its prompt's group; expected 2 or more");
        var training = MemoryPlanner.Plan(request with { Batch = checked(request.Batch * generations) });
        long cache = KvCacheBytes(request, generations);
        long sampling = training.M1 + training.M2 + cache;
        return training with { GenerationBytes = cache, Peak = Math.Max(training.Peak, sampling) };
    }

    /// <summary>Keys and values of <paramref name="rows"/> sequences of <see cref="PlanRequest.Sequence"/> tokens in every layer (an upper bound for models whose sliding or linear-attention layers keep less).</summary>
    public static long KvCacheBytes(PlanRequest request, int rows)
    {
        var c = request.Model;
        return checked(2L * c.NumLayers * c.NumKvHeads * (c.GlobalHeadDim ?? c.HeadDim) * rows * request.Sequence * request.ElementBytes);
    }
}
