using static TorchSharp.torch;

namespace QuantTune.Training.Alignment;

/// <summary>An objective's loss on a batch (a scalar tensor carrying the policy's graph) and its metrics under TRL's names.</summary>
public sealed record AlignmentLoss(Tensor Loss, IReadOnlyDictionary<string, double> Metrics);
