using QuantTune.Diagnostics;

namespace QuantTune.Training;

public enum ScheduleKind { Constant, Linear, Cosine }

/// <summary>
/// The learning rate at a step, as transformers' schedulers compute it: linear warmup from 0
/// over <c>warmup</c> steps, then constant, linear decay to 0, or half-cosine decay to 0 at
/// <c>total</c> steps.
/// </summary>
public static class LearningRateSchedule
{
    public static double Factor(ScheduleKind kind, int step, int total, int warmup)
    {
        if (warmup > 0 && step < warmup) return (double)step / warmup;
        if (kind == ScheduleKind.Constant) return 1.0;
        double progress = total <= warmup ? 1.0 : (double)(step - warmup) / (total - warmup);
        progress = Math.Clamp(progress, 0, 1);
        return kind == ScheduleKind.Linear ? 1.0 - progress : 0.5 * (1.0 + Math.Cos(Math.PI * progress));
    }

    public static ScheduleKind Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "constant" => ScheduleKind.Constant,
        "linear" => ScheduleKind.Linear,
        "cosine" => ScheduleKind.Cosine,
        _ => throw new InvalidSettingException("TrainingOptions.Schedule", name, "expected constant, linear or cosine"),
    };
}
