using QuantTune.Training.Data;

namespace QuantTune.Training.Alignment.Grpo.Rewards;

/// <summary>
/// How close the completion's length in characters is to a target N: 1 − min(1, |length − N| / N), so 1 at N
/// characters and 0 at none or at 2N and beyond (<c>length:N</c>).
/// </summary>
public sealed class LengthReward(int target) : IReward
{
    public double Score(string completion, PromptRecord prompt) =>
        1.0 - Math.Min(1.0, Math.Abs(completion.Length - target) / (double)target);
}
