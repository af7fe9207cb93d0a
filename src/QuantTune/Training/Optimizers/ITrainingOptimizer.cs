using static TorchSharp.torch;

namespace QuantTune.Training.Optimizers;

/// <summary>The optimizer interface the trainer drives (learning rate set by the schedule each step).</summary>
public interface ITrainingOptimizer : IDisposable
{
    string Name { get; }
    double LearningRate { get; set; }
    void Step();
    void ZeroGrad();
    long StateBytes { get; }
    IReadOnlyDictionary<string, Tensor> StateDict();
    void LoadStateDict(IReadOnlyDictionary<string, Tensor> state);
}
