using QuantTune.Diagnostics;

namespace QuantTune.Training;

/// <summary>The loss became NaN or infinite: training stops and keeps the last good checkpoint.</summary>
public sealed class TrainingDivergedException(string message) : QuantTuneException(message);
