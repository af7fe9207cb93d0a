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
    /// <summary>A 3-step run (or <paramref name="steps"/>) with a checkpoint at every step, into one run folder.</summary>
    FineTuneRequest Request(FineTuneMethod method, int steps = 3, bool resume = false, string? qat = null, int evalEvery = 2)
    {
        var data = Path.Combine(Dir, "data.txt");
        if (!File.Exists(data))
            TinyShakespeare.WriteSlice(data, 20_000);
        return new FineTuneRequest
        {
            ModelDirectory = TestData.TinyLlamaDir, DataFile = data, OutputDirectory = Path.Combine(Dir, "run"), Resume = resume, Qat = qat,
            Method = method, SequenceLength = 32, MaxEvalExamples = 4,
            Training = new TrainingOptions { Steps = steps, BatchSize = 2, LearningRate = 1e-3, Seed = 5, EvalEvery = evalEvery, CheckpointEvery = 1 },
        };
    }

    /// <summary>Tensors created and not disposed on this thread by the run (the finalizer's disposals count on its own thread).</summary>
    static long LiveTensorsLeftBy(FineTuneRequest request, out FineTuneSummary summary)
    {
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        summary = FineTuner.Run(request);
        return DisposeScopeManager.Statistics.ThreadTotalLiveCount - before;
    }

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
    public void AFineTuneWithCheckpointsLeavesNoTensorAlive(FineTuneMethod method) =>
        Assert.Equal(0, LiveTensorsLeftBy(Request(method), out _));

    [Fact]
    public void AResumedFineTuneLeavesNoTensorAlive()
    {
        FineTuner.Run(Request(FineTuneMethod.Dora, steps: 2, evalEvery: 0));
        Assert.Equal(0, LiveTensorsLeftBy(Request(FineTuneMethod.Dora, steps: 4, resume: true, evalEvery: 0), out var summary));
        Assert.Equal(2, summary.ResumedFrom);
    }

    [Theory]
    [InlineData(FineTuneMethod.Lora, "nf4")]
    [InlineData(FineTuneMethod.Dora, "int4")]
    public void AQuantizationAwareFineTuneLeavesNoTensorAlive(FineTuneMethod method, string qat) =>
        Assert.Equal(0, LiveTensorsLeftBy(Request(method, qat: qat), out _));
}
