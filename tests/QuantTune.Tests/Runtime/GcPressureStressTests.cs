using QuantTune.Training.FineTuning;

namespace QuantTune.Tests.Runtime;

/// <summary>
/// <see cref="GcPressureWork"/> for three methods, each in a child process: a native crash under
/// the collections fails this test with the crashing thread's stack (from the runtime's crash
/// report) instead of taking the test run down with it.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class GcPressureStressTests() : TempFolderTest("qt-gc-")
{
    [Theory]
    [InlineData(FineTuneMethod.Qlora)]
    [InlineData(FineTuneMethod.Qst)]
    [InlineData(FineTuneMethod.Dora)]
    public void FineTuningSurvivesCollectionsForcedFromAnotherThread(FineTuneMethod method)
    {
        var result = ChildProcess.Run(Dir, TimeSpan.FromMinutes(8), GcPressureWork.Command, method.ToString(), Dir);
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Contains("forced collections", result.Output);
    }

    [Fact]
    public void AChildThatCrashesIsReportedWithItsStack()
    {
        var result = ChildProcess.Run(Dir, TimeSpan.FromMinutes(2), "fail-fast");
        Assert.NotEqual(0, result.ExitCode);
        Assert.NotNull(result.CrashStack);
        Assert.Contains("TestProcessEntry.Main", result.CrashStack);
        Assert.Contains("libc.so", result.CrashStack); // native frames are named too
        Assert.False(File.Exists(Path.Combine(Dir, "crash.dmp")), "the minidump is deleted once its report is read");
    }
}
