using QuantTune.Training;
using QuantTune.Training.FineTuning;
using TorchSharp;

namespace QuantTune.Tests.Training;

/// <summary>
/// A fine-tune leaves no tensor alive once it returns: every temporary was made in a dispose scope
/// and every copy (the optimizer state a checkpoint writes, a side network, the handles in-place
/// ops return) is disposed when done with. A tensor left to the finalizer holds its memory until a
/// garbage collection, and a temporary made outside a scope can be finalized while libtorch still
/// reads it (the optimizer-state copy of every checkpoint was such a temporary).
/// </summary>
public sealed class FineTuneLeakTests() : TempFolderTest("qt-leak-")
{
    [Theory]
    [InlineData(FineTuneMethod.Lora)]
    [InlineData(FineTuneMethod.Qlora)]
    [InlineData(FineTuneMethod.Dora)]
    [InlineData(FineTuneMethod.Qst)]
    [InlineData(FineTuneMethod.Prompt)]
    [InlineData(FineTuneMethod.Ia3)]
    [InlineData(FineTuneMethod.Adapter)]
    [InlineData(FineTuneMethod.Bitfit)]
    [InlineData(FineTuneMethod.Full)]
    public void AFineTuneWithCheckpointsLeavesNoTensorAlive(FineTuneMethod method)
    {
        var data = Path.Combine(Dir, "data.txt");
        File.WriteAllText(data, File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "assets", "data", "tiny-shakespeare.txt"))[..20_000]);
        var request = new FineTuneRequest
        {
            ModelDirectory = TestData.TinyLlamaDir, DataFile = data, OutputDirectory = Path.Combine(Dir, "run"),
            Method = method, SequenceLength = 32, MaxEvalExamples = 4,
            Training = new TrainingOptions { Steps = 3, BatchSize = 2, LearningRate = 1e-3, Seed = 5, EvalEvery = 2, CheckpointEvery = 1 },
        };
        // Tensors created and not disposed on this thread (the finalizer's disposals count on its own thread).
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        FineTuner.Run(request);
        Assert.Equal(0, DisposeScopeManager.Statistics.ThreadTotalLiveCount - before);
    }
    [Fact]
    public void AResumedFineTuneLeavesNoTensorAlive()
    {
        var data = Path.Combine(Dir, "data.txt");
        File.WriteAllText(data, File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "assets", "data", "tiny-shakespeare.txt"))[..20_000]);
        FineTuneRequest Request(int steps, bool resume) => new()
        {
            ModelDirectory = TestData.TinyLlamaDir, DataFile = data, OutputDirectory = Path.Combine(Dir, "run"), Resume = resume,
            Method = FineTuneMethod.Dora, SequenceLength = 32, MaxEvalExamples = 4,
            Training = new TrainingOptions { Steps = steps, BatchSize = 2, LearningRate = 1e-3, Seed = 5, EvalEvery = 0, CheckpointEvery = 1 },
        };
        FineTuner.Run(Request(2, resume: false));
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var summary = FineTuner.Run(Request(4, resume: true));
        Assert.Equal(2, summary.ResumedFrom);
        Assert.Equal(0, DisposeScopeManager.Statistics.ThreadTotalLiveCount - before);
    }
    [Theory]
    [InlineData(FineTuneMethod.Lora, "nf4")]
    [InlineData(FineTuneMethod.Dora, "int4")]
    public void AQuantizationAwareFineTuneLeavesNoTensorAlive(FineTuneMethod method, string qat)
    {
        var data = Path.Combine(Dir, "data.txt");
        File.WriteAllText(data, File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "assets", "data", "tiny-shakespeare.txt"))[..20_000]);
        var request = new FineTuneRequest
        {
            ModelDirectory = TestData.TinyLlamaDir, DataFile = data, OutputDirectory = Path.Combine(Dir, "run"), Qat = qat,
            Method = method, SequenceLength = 32, MaxEvalExamples = 4,
            Training = new TrainingOptions { Steps = 3, BatchSize = 2, LearningRate = 1e-3, Seed = 5, EvalEvery = 2, CheckpointEvery = 1 },
        };
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        FineTuner.Run(request);
        Assert.Equal(0, DisposeScopeManager.Statistics.ThreadTotalLiveCount - before);
    }
}
