using QuantTune.Diagnostics;
using QuantTune.Training;
using QuantTune.Training.FineTuning;

namespace QuantTune.Tests.Training.FineTuning;

public sealed class FineTuneStepsTests
{
    [Theory]
    [InlineData(1, 100, 8, 1, 13)]  // 12 full micro-batches and a last one of 4
    [InlineData(3, 100, 8, 1, 39)]
    [InlineData(1, 100, 8, 4, 4)]   // 13 micro-batches in steps of 4: the last step starts the next epoch
    [InlineData(2, 96, 8, 3, 8)]
    [InlineData(1, 1, 8, 1, 1)]
    public void StepsArePassesTimesMicroBatchesPerEpochOverAccumulation(int epochs, int examples, int batch, int accumulate, int steps)
    {
        Assert.Equal(steps, FineTuneSteps.FromEpochs(epochs, examples, batch, accumulate));
    }

    [Fact]
    public void ResolveReplacesTheStepsAndEvaluatesAtTheEndUnlessAskedOtherwise()
    {
        var given = new TrainingOptions { Steps = 100, BatchSize = 4, GradientAccumulation = 2, EvalEvery = 0, WarmupSteps = 2 };
        Assert.Same(given, FineTuneSteps.Resolve(given, null, 50));
        var resolved = FineTuneSteps.Resolve(given, 2, 50);
        Assert.Equal(13, resolved.Steps); // 2 × 13 micro-batches / 2
        Assert.Equal(13, resolved.EvalEvery);
        Assert.Equal(5, FineTuneSteps.Resolve(given with { EvalEvery = 5 }, 2, 50).EvalEvery);
    }

    [Fact]
    public void ImpossibleEpochsAreRefusedNamingTheOptions()
    {
        Assert.Contains("FineTuneRequest.Epochs = 0", Assert.Throws<InvalidSettingException>(() => FineTuneSteps.FromEpochs(0, 10, 2, 1)).Message);
        var e = Assert.Throws<InvalidSettingException>(() => FineTuneSteps.Resolve(new TrainingOptions { BatchSize = 10, WarmupSteps = 5 }, 1, 20));
        Assert.Contains("TrainingOptions.WarmupSteps = 5", e.Message);
        Assert.Contains("FineTuneRequest.Epochs 1 makes 2 steps", e.Message);
    }
}
