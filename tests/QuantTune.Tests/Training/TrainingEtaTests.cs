using QuantTune.Cli.Rendering;
using QuantTune.Training;

namespace QuantTune.Tests.Training;

public sealed class TrainingEtaTests
{
    [Fact]
    public void TheFirstStepAndTheEvaluationsDoNotInflateTheStepTime()
    {
        var eta = new TrainingEta(firstStep: 0, totalSteps: 10, evalEvery: 5);
        Assert.Null(eta.Remaining(0));
        eta.AddStep(0, 30);                  // warm-up step
        Assert.Equal(TimeSpan.FromSeconds(30 * 9), eta.Remaining(1));
        eta.AddStep(1, 2);
        eta.AddStep(2, 2);
        Assert.Equal(TimeSpan.FromSeconds(2 * 7), eta.Remaining(3));
        eta.AddStep(3, 2); eta.AddStep(4, 2);
        eta.AddEvaluation(10);               // at step 5: one more evaluation (step 10) is left
        Assert.Equal(TimeSpan.FromSeconds(2 * 5 + 10), eta.Remaining(5));
        Assert.Equal(TimeSpan.Zero, eta.Remaining(10));
    }

    [Fact]
    public void AResumedRunTimesItsOwnFirstStepApart()
    {
        var eta = new TrainingEta(firstStep: 6, totalSteps: 8, evalEvery: 0);
        eta.AddStep(6, 50);
        eta.AddStep(7, 1);
        Assert.Equal(TimeSpan.FromSeconds(1), eta.Remaining(7));
    }

    [Theory]
    [InlineData(5, "0:05")]
    [InlineData(59 * 60 + 59, "59:59")]
    [InlineData(3600, "1:00:00")]
    [InlineData(3 * 3600 + 2 * 60 + 1, "3:02:01")]
    [InlineData(26 * 3600, "1d 2:00:00")]
    public void DurationsKeepTheirHours(int seconds, string expected) => Assert.Equal(expected, Durations.Format(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void ThePhasesBeforeTheFirstStepAreShown()
    {
        var w = new StringWriter();
        var lines = new TrainingDisplay.Lines("qlora", w);
        lines.Report(TrainingProgress.Starting("loading model", 4));
        lines.Report(TrainingProgress.Starting("quantizing the backbone", 4));
        lines.Report(new TrainingProgress(1, 4, 2.5, 1e-3, 100, null, TimeSpan.FromSeconds(3725)));
        var text = w.ToString();
        Assert.Contains("qlora: loading model, elapsed 0:00", text);
        Assert.Contains("qlora: quantizing the backbone", text);
        Assert.Contains("step 1/4 loss 2.5000", text);
        Assert.Contains("ETA 1:02:05", text);
    }
}
