using QuantTune.Training;

namespace QuantTune.SideTuning;

/// <summary>
/// The training settings of the official QST run (YouAreSpecialToMe/QST, its fine-tuning script:
/// <c>lr_scheduler_type constant</c>, <c>warmup_ratio 0.03</c>, <c>max_grad_norm 0.3</c>,
/// <c>optim paged_adamw_32bit</c>), used for the QST method wherever the caller set nothing.
/// </summary>
public static class QstRecipe
{
    public const ScheduleKind Schedule = ScheduleKind.Constant;
    public const double WarmupRatio = 0.03;
    public const double MaxGradNorm = 0.3;
    public const string Optimizer = "paged-adamw";

    /// <summary>Warmup steps for a run of <paramref name="steps"/>, as transformers' <c>get_warmup_steps</c>: ⌈ratio · steps⌉.</summary>
    public static int WarmupSteps(double ratio, int steps) => (int)Math.Ceiling(ratio * steps);
}
