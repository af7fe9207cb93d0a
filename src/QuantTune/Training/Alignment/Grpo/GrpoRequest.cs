using QuantTune.Training.Alignment.Grpo.Rewards;
using QuantTune.Training.FineTuning;

namespace QuantTune.Training.Alignment.Grpo;

/// <summary>
/// A GRPO run: the fine-tuning run it shares its settings with (model, prompt file, output folder, method and its
/// settings, training options, dtype, device, resume, chat template), GRPO's hyperparameters and the rewards.
/// </summary>
public sealed record GrpoRequest
{
    /// <summary>
    /// The run's settings as a fine-tuning run holds them. <see cref="FineTuneRequest.DataFile"/> is a prompt file
    /// (<see cref="Data.PromptDataset"/>); <see cref="TrainingOptions.BatchSize"/> counts prompts per micro-batch, each
    /// sampled <see cref="GrpoOptions.NumGenerations"/> times. The held-out settings do not apply.
    /// </summary>
    public required FineTuneRequest Run { get; init; }

    public GrpoOptions Options { get; init; } = new();

    /// <summary>The rewards, summed with their weights; at least one (<see cref="RewardRegistry.Parse"/> makes the built-in ones).</summary>
    public required IReadOnlyList<WeightedReward> Rewards { get; init; }
}
