using QuantTune.Diagnostics;
using QuantTune.Training.Metrics;

namespace QuantTune.Tests.Training;

/// <summary>metrics.jsonl on resume: a cut last line is dropped; null or out-of-range lines are errors naming the file and line; NaN losses round-trip.</summary>
public sealed class MetricsLogReadTests() : TempFolderTest("quanttune-metrics-")
{
    const string Line1 = "{\"step\":1,\"loss\":3.1,\"learning_rate\":0.001,\"grad_norm\":1.5,\"tokens\":64,\"seconds\":0.1}";

    string Write(string text)
    {
        var path = Path.Combine(Dir, "metrics.jsonl");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void ALastLineCutByAKillIsDropped()
    {
        var path = Write(Line1 + "\n{\"step\":2,\"lo");
        using var log = new MetricsLog(path, resumeFromStep: 5);
        Assert.Equal([1], log.History.Select(m => m.Step));
    }

    [Theory]
    [InlineData("null")]
    [InlineData("{\"step\":2,\"lo")]
    public void ABadLineBeforeTheLastNamesTheFileAndTheLine(string bad)
    {
        var path = Write(bad + "\n" + Line1 + "\n");
        var e = Assert.IsType<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => new MetricsLog(path, resumeFromStep: 5).Dispose()));
        Assert.Equal(path, e.File);
        Assert.Equal("line 1", e.Field);
    }

    [Fact]
    public void ALossBeyondTheDoubleRangeReadsAsInfinityAndIsWrittenBack()
    {
        var path = Write("{\"step\":1,\"loss\":1e400}\n");
        using (var log = new MetricsLog(path, resumeFromStep: 5)) Assert.True(double.IsPositiveInfinity(log.History.Single().Loss));
        Assert.Contains("\"loss\":\"Infinity\"", File.ReadAllText(path));
    }

    [Fact]
    public void ANaNLossIsWrittenAndReadBack()
    {
        var path = Path.Combine(Dir, "metrics.jsonl");
        using (var log = new MetricsLog(path, 0)) log.Add(new StepMetrics(1, double.NaN, 0.001, double.PositiveInfinity, 64, 0.1));
        var back = MetricsLog.Read(path);
        Assert.True(double.IsNaN(back.Single().Loss));
        Assert.True(double.IsPositiveInfinity(back.Single().GradNorm));
    }
}
