using QuantTune.Training;
using QuantTune.Training.FineTuning;
using QuantTune.Training.Metrics;

namespace QuantTune.Tests.Training;

public sealed class LossCurveTests() : TempFolderTest("qt-plot-")
{
    [Theory]
    [InlineData(1, 12, new[] { 2, 4, 6, 8, 10, 12 })]
    [InlineData(0, 12, new[] { 0, 2, 4, 6, 8, 10, 12 })]
    [InlineData(0, 5, new[] { 0, 1, 2, 3, 4, 5 })]
    [InlineData(0, 1000, new[] { 0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000 })]
    [InlineData(7, 7, new[] { 7 })]
    public void StepTicksAreWholeNumbers(int first, int last, int[] expected) => Assert.Equal(expected, LossCurve.IntegerTicks(first, last));

    [Fact]
    public void TheTitleNamesTheMethodModelLearningRateAndRun()
    {
        var r = new FineTuneRequest
        {
            ModelDirectory = "/models/tiny-llama/", DataFile = "d.txt", OutputDirectory = "runs/qlora-a", Method = FineTuneMethod.Qlora,
            Training = new TrainingOptions { Steps = 20, BatchSize = 4, LearningRate = 3e-4 },
        };
        Assert.Equal("qlora on tiny-llama: lr 0.0003, adamw, 20 steps of 4×1 (run qlora-a)", FineTuner.PlotTitle(r));
    }

    [Fact]
    public void TheCurveIsWrittenWithTheInitialEvaluation()
    {
        var path = Path.Combine(Dir, "loss.png");
        LossCurve.Save(path, [new StepMetrics(1, 3.0, 1e-3, 1, 10, 1, 2.9), new StepMetrics(2, 2.5, 1e-3, 1, 10, 2, 2.7)], "t", initialEvalLoss: 3.1);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(path)[..4]);
    }
}
