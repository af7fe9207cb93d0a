using QuantTune.Training;
using QuantTune.Training.FineTuning;

namespace QuantTune.Tests.Runtime;

/// <summary>
/// A short fine-tune (forward, backward, optimizer, held-out evaluation, checkpoints, saving)
/// while another thread forces garbage collections and runs finalizers without pause: the load
/// under which interactive fine-tunes crashed in libtorch (a Scalar finalized during a native
/// call). Each collection is a chance for any unpinned Scalar or unscoped tensor to be freed
/// under libtorch. Run in a child process (<see cref="ChildProcess"/>) by <see cref="GcPressureStressTests"/>.
/// </summary>
public static class GcPressureWork
{
    public const string Command = "gc-stress";

    /// <summary>Arguments: the method and a folder to work in.</summary>
    public static void Run(string[] args)
    {
        var method = Enum.Parse<FineTuneMethod>(args[0], ignoreCase: true);
        var dir = args[1];
        var data = Path.Combine(dir, "data.txt");
        TinyShakespeare.WriteSlice(data, 30_000);
        var request = new FineTuneRequest
        {
            ModelDirectory = TestData.TinyLlamaDir, DataFile = data, OutputDirectory = Path.Combine(dir, method.ToString()), Method = method,
            SequenceLength = 48, MaxEvalExamples = 8,
            Training = new TrainingOptions { Steps = 6, BatchSize = 4, LearningRate = 3e-3, Seed = 3, EvalEvery = 2, MaxGradNorm = 1.0, WarmupSteps = 2, CheckpointEvery = 3 },
        };
        long collections = 0;
        using var stop = new CancellationTokenSource();
        var pressure = new Thread(() =>
        {
            // Mostly young-generation collections: a Scalar or tensor handle made for one native call is
            // young. Every 4th is gen-1 and every 16th a full one, for what has lived long enough to be promoted.
            for (long n = 0; !stop.IsCancellationRequested; n++)
            {
                GC.KeepAlive(new byte[4096]);
                GC.Collect(n % 16 == 15 ? GC.MaxGeneration : n % 4 == 3 ? 1 : 0, GCCollectionMode.Forced, blocking: true);
                GC.WaitForPendingFinalizers();
                Interlocked.Increment(ref collections);
            }
        }) { IsBackground = true, Name = "gc-pressure" };
        pressure.Start();
        FineTuneSummary summary;
        try { summary = FineTuner.Run(request); }
        finally
        {
            stop.Cancel();
            pressure.Join();
        }
        if (!double.IsFinite(summary.EvalPerplexityAfter)) throw new InvalidOperationException($"held-out perplexity after training is {summary.EvalPerplexityAfter}");
        if (!Directory.Exists(summary.ResultDirectory)) throw new InvalidOperationException($"{summary.ResultDirectory} was not written");
        if (Interlocked.Read(ref collections) <= 10) throw new InvalidOperationException($"only {collections} forced collections ran");
        Console.WriteLine($"{method}: {collections} forced collections, held-out perplexity {summary.EvalPerplexityAfter:F3}");
    }
}
