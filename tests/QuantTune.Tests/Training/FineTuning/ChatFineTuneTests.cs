using QuantTune.Training;
using QuantTune.Training.FineTuning;
using Xunit.Abstractions;

namespace QuantTune.Tests.Training.FineTuning;

/// <summary>
/// QLoRA and QST on the shipped conversational sample (assets/data/chat-sample.jsonl, the format
/// told from its records, the embedded model's missing template replaced by the built-in zephyr):
/// the held-out loss, taken on the assistant tokens only, goes down.
/// </summary>
public sealed class ChatFineTuneTests(ITestOutputHelper output) : TempFolderTest("qt-chat-ft-")
{
    static string Sample => Path.Combine(AppContext.BaseDirectory, "assets", "data", "chat-sample.jsonl");

    [Theory]
    [InlineData(FineTuneMethod.Qlora)]
    [InlineData(FineTuneMethod.Qst)]
    public void Fine_tuning_on_conversations_lowers_held_out_assistant_loss(FineTuneMethod method)
    {
        var s = FineTuner.Run(new FineTuneRequest
        {
            ModelDirectory = TestData.TinyLlamaDir,
            DataFile = Sample,
            OutputDirectory = Path.Combine(Dir, method.ToString()),
            Method = method,
            SequenceLength = 96,
            EvalFraction = 0.2,
            Training = new TrainingOptions { Steps = 4, BatchSize = 2, LearningRate = 5e-3, Seed = 7, EvalEvery = 4, Schedule = ScheduleKind.Constant },
        });
        output.WriteLine($"{method}: {s.EvalPerplexityBefore:F2} → {s.EvalPerplexityAfter:F2} ({s.ChatTemplate})");
        Assert.True(s.EvalPerplexityAfter < s.EvalPerplexityBefore, $"{s.EvalPerplexityBefore} → {s.EvalPerplexityAfter}");
        Assert.Equal("built-in zephyr (the model has no chat template)", s.ChatTemplate);
        Assert.Equal(24, s.TrainExamples);
        Assert.Equal(6, s.EvalExamples);
    }
}
