using QuantTune.Diagnostics;

namespace QuantTune.Training.Alignment.Grpo;

/// <summary>How token losses are averaged into the batch's loss (TRL's <c>loss_type</c>).</summary>
public enum GrpoLossType
{
    /// <summary>Σ over the batch's completion tokens / their number (DAPO; TRL's default). One generation batch per micro-batch here, so it equals bnpo.</summary>
    Dapo,
    /// <summary>Each completion's mean over its tokens, then the mean over completions (the GRPO paper's; biased towards short completions with positive advantages).</summary>
    Grpo,
    /// <summary>Σ over the batch's completion tokens / (completions × <see cref="GrpoOptions.MaxCompletionLength"/>) (Dr. GRPO).</summary>
    DrGrpo,
}

/// <summary>How rewards become advantages after the group mean is taken off (TRL's <c>scale_rewards</c>).</summary>
public enum RewardScaling
{
    /// <summary>Divided by the standard deviation of the prompt's group, plus 1e-4 (TRL's default, "group").</summary>
    Group,
    /// <summary>Divided by the standard deviation over the whole batch, plus 1e-4 ("batch").</summary>
    Batch,
    /// <summary>Not divided (Dr. GRPO's advice, "none").</summary>
    None,
}

/// <summary>
/// GRPO's hyperparameters, with the defaults of TRL's <c>GRPOConfig</c> (trl/trainer/grpo_config.py at commit
/// 006d32c9bf5da698815726ebd0de78b404e8163d): β 0 (no KL term, no reference pass), ε 0.2 (ε_high = ε when unset),
/// scale_rewards "group", loss_type "dapo", num_generations 8, max_completion_length 256, temperature 1, top_p 1, top_k 0.
/// One optimisation step per generation batch (TRL's num_iterations 1), so the ratio's "old" policy is the current one.
/// </summary>
public sealed record GrpoOptions
{
    /// <summary>Completions sampled per prompt, G (TRL: 8). At least 2: the advantages are relative to the group.</summary>
    public int NumGenerations { get; init; } = 8;

    /// <summary>Most tokens generated per completion (TRL: 256).</summary>
    public int MaxCompletionLength { get; init; } = 256;

    /// <summary>Sampling temperature (TRL: 1.0); above 0.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Nucleus sampling (TRL: 1.0, off).</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Top-k sampling (TRL: 0, off).</summary>
    public int TopK { get; init; }

    /// <summary>β, the weight of the k3 estimate of KL(π‖π_ref) per token (TRL: 0.0: no reference model is run).</summary>
    public double Beta { get; init; }

    /// <summary>ε, the lower clipping range of the importance ratio: [1 − ε, 1 + ε_high] (TRL: 0.2).</summary>
    public double Epsilon { get; init; } = 0.2;

    /// <summary>ε_high, the upper clipping range (DAPO recommends 0.28); null: <see cref="Epsilon"/>, as TRL.</summary>
    public double? EpsilonHigh { get; init; }

    public GrpoLossType LossType { get; init; } = GrpoLossType.Dapo;

    public RewardScaling ScaleRewards { get; init; } = RewardScaling.Group;

    /// <summary>Prompts keep their last N tokens (TRL's max_prompt_length was 512).</summary>
    public int MaxPromptLength { get; init; } = 512;

    /// <summary>The upper clipping range in use.</summary>
    public double UpperEpsilon => EpsilonHigh ?? Epsilon;

    /// <summary>Throws where a value is outside its range, naming the property.</summary>
    public void Validate()
    {
        if (NumGenerations < 2) throw Invalid(nameof(NumGenerations), NumGenerations, "GRPO compares each completion with the others of its prompt's group; expected 2 or more");
        if (MaxCompletionLength < 1) throw Invalid(nameof(MaxCompletionLength), MaxCompletionLength, "expected 1 or more");
        if (MaxPromptLength < 1) throw Invalid(nameof(MaxPromptLength), MaxPromptLength, "expected 1 or more");
        if (!(Temperature > 0) || !double.IsFinite(Temperature)) throw Invalid(nameof(Temperature), Temperature, "GRPO samples its completions; expected a positive number");
        if (!(TopP > 0 && TopP <= 1)) throw Invalid(nameof(TopP), TopP, "expected a value in (0, 1]");
        if (TopK < 0) throw Invalid(nameof(TopK), TopK, "expected 0 (off) or more");
        if (!(Beta >= 0) || !double.IsFinite(Beta)) throw Invalid(nameof(Beta), Beta, "expected a number ≥ 0");
        if (!(Epsilon >= 0 && Epsilon < 1)) throw Invalid(nameof(Epsilon), Epsilon, "expected a value in [0, 1)");
        if (EpsilonHigh is double h && !(h >= 0 && double.IsFinite(h))) throw Invalid(nameof(EpsilonHigh), h, "expected a number ≥ 0");
    }

    static InvalidSettingException Invalid(string property, object value, string problem) => new($"{nameof(GrpoOptions)}.{property}", value, problem);
}
