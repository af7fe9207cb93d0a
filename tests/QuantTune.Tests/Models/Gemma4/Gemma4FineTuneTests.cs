using QuantTune.Diagnostics;
using QuantTune.Training;
using QuantTune.Training.FineTuning;
using Xunit.Abstractions;

namespace QuantTune.Tests.Models.Gemma4;

/// <summary>
/// Fine-tuning tiny-gemma4 (per-layer inputs, KV sharing, keys as values, two head sizes): every method that runs the
/// model whole lowers the held-out perplexity; prompt tuning (input embeddings without token ids, which the per-layer
/// inputs need) and QST (the backbone's layers one at a time) are refused with the reason.
/// </summary>
public sealed class Gemma4FineTuneTests(ITestOutputHelper output) : TempFolderTest("qt-gemma4-ft-")
{
    FineTuneRequest Request(FineTuneMethod method, double lr)
    {
        var data = Path.Combine(Dir, "shakespeare-slice.txt");
        TinyShakespeare.WriteSlice(data, 60_000);
        return new()
        {
            ModelDirectory = TestData.TinyGemma4Dir,
            DataFile = data,
            OutputDirectory = Path.Combine(Dir, method.ToString()),
            Method = method,
            SequenceLength = 64,
            MaxEvalExamples = 16,
            Training = new TrainingOptions { Steps = 12, BatchSize = 4, LearningRate = lr, Seed = 7, EvalEvery = 12, Schedule = ScheduleKind.Constant },
        };
    }

    [Theory]
    [InlineData(FineTuneMethod.Lora, 3e-3)]
    [InlineData(FineTuneMethod.Qlora, 3e-3)]
    [InlineData(FineTuneMethod.Dora, 3e-3)]
    [InlineData(FineTuneMethod.Adapter, 3e-3)]
    [InlineData(FineTuneMethod.Ia3, 3e-2)]
    [InlineData(FineTuneMethod.Bitfit, 3e-3)]
    [InlineData(FineTuneMethod.Full, 1e-3)]
    public void EveryMethodLowersHeldOutPerplexity(FineTuneMethod method, double lr)
    {
        var s = FineTuner.Run(Request(method, lr));
        output.WriteLine($"tiny-gemma4 {method}: {s.EvalPerplexityBefore:F2} → {s.EvalPerplexityAfter:F2}, trainable {s.TrainableParameters}");
        Assert.True(s.EvalPerplexityAfter < s.EvalPerplexityBefore, $"{s.EvalPerplexityBefore} → {s.EvalPerplexityAfter}");
        Assert.True(Directory.Exists(s.ResultDirectory));
    }

    [Theory]
    [InlineData(FineTuneMethod.Prompt, "input embeddings alone")]
    [InlineData(FineTuneMethod.Qst, "per-layer inputs")]
    public void AMethodThatCannotFeedTheLayersIsRefused(FineTuneMethod method, string reason)
    {
        var e = Assert.ThrowsAny<QuantTuneException>(() => FineTuner.Run(Request(method, 3e-3)));
        output.WriteLine(e.Message);
        Assert.Contains(reason, e.Message);
    }
}
