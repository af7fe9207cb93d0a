using QuantTune.Training.Data;

namespace QuantTune.Training.Alignment.Grpo.Rewards;

/// <summary>
/// A reward of GRPO: the score of one completion (its decoded text, without the prompt) given the prompt's record,
/// whose fields (such as "answer") the reward may read, as TRL passes a dataset's extra columns to a reward function.
/// A library user implements it for a reward of their own; the built-in ones are in <see cref="RewardRegistry"/>.
/// </summary>
public interface IReward
{
    double Score(string completion, PromptRecord prompt);
}

/// <summary>A reward from a delegate, for rewards written inline.</summary>
public sealed class DelegateReward(Func<string, PromptRecord, double> score) : IReward
{
    public double Score(string completion, PromptRecord prompt) => score(completion, prompt);
}
