using QuantTune.Training;
using QuantTune.Training.FineTuning;

namespace QuantTune.Tests.Runtime;

/// <summary>
/// Fine-tuning (forward, backward, optimizer, held-out evaluation, saving) while another thread
/// forces garbage collections and runs finalizers without pause: the load under which
/// interactive fine-tunes crashed in libtorch (a Scalar finalized during a native call). Each
/// collection is a chance for any unpinned Scalar or unscoped tensor to be freed under libtorch.
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
        var data = Path.Combine(Dir, "data.txt");
        File.WriteAllText(data, File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "assets", "data", "tiny-shakespeare.txt"))[..30_000]);
        var request = new FineTuneRequest
        {
            ModelDirectory = TestData.TinyLlamaDir, DataFile = data, OutputDirectory = Path.Combine(Dir, method.ToString()), Method = method,
            SequenceLength = 48, MaxEvalExamples = 8,
            Training = new TrainingOptions { Steps = 5, BatchSize = 4, LearningRate = 3e-3, Seed = 3, EvalEvery = 2, MaxGradNorm = 1.0, WarmupSteps = 2 },
        };
        long collections = 0;
        using var stop = new CancellationTokenSource();
        var pressure = new Thread(() =>
        {
            // Mostly young-generation collections: a Scalar or tensor handle made for one native call is
            // young, and a full collection of the whole test process's heap every time only slows the run.
            // Every 16th collection is a full one, for what has lived long enough to be promoted.
            for (long n = 0; !stop.IsCancellationRequested; n++)
            {
                GC.KeepAlive(new byte[4096]);
                GC.Collect(n % 16 == 15 ? GC.MaxGeneration : n % 4 == 3 ? 1 : 0, GCCollectionMode.Forced, blocking: true);
                GC.WaitForPendingFinalizers();
                Interlocked.Increment(ref collections);
            }
        }) { IsBackground = true, Name = "gc-pressure" };
        pressure.Start();
        try
        {
            var summary = FineTuner.Run(request);
            Assert.True(double.IsFinite(summary.EvalPerplexityAfter));
            Assert.True(Directory.Exists(summary.ResultDirectory));
        }
        finally
        {
            stop.Cancel();
            pressure.Join();
        }
        Assert.True(Interlocked.Read(ref collections) > 10, $"only {collections} forced collections ran");
    }
}
