using QuantTune.Training.Data;
using QuantTune.Training.FineTuning;

namespace QuantTune.Training.Alignment;

/// <summary>
/// A preference-optimisation run: the fine-tuning run it shares its settings with (model, preference data file,
/// output folder, method and its settings, training options, dtype, device, resume, held-out data, chat template),
/// the objective and its hyperparameters, and how examples are cut.
/// </summary>
public sealed record AlignRequest
{
    /// <summary>
    /// The run's settings as a fine-tuning run holds them. <see cref="FineTuneRequest.DataFile"/> and
    /// <see cref="FineTuneRequest.EvalDataFile"/> are preference files (<see cref="PreferenceDataset"/>);
    /// <see cref="FineTuneRequest.Format"/>, <see cref="FineTuneRequest.SequenceLength"/> and the chat-data packing
    /// settings do not apply (<see cref="Preference"/> cuts the examples).
    /// </summary>
    public required FineTuneRequest Run { get; init; }

    /// <summary>dpo, ipo, orpo, kto or simpo (<see cref="AlignmentObjectiveRegistry"/>).</summary>
    public string Objective { get; init; } = "dpo";

    public AlignmentOptions Options { get; init; } = new();

    public PreferenceOptions Preference { get; init; } = new();
}
