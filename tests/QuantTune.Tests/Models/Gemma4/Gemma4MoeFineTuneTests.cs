using QuantTune.Training;
using QuantTune.Training.FineTuning;
using Xunit.Abstractions;

namespace QuantTune.Tests.Models.Gemma4;

/// <summary>
/// Fine-tuning tiny-gemma4-moe (experts beside each layer's dense MLP): LoRA on the attention projections, and QLoRA on every
/// linear layer over an NF4 base (the dense MLP's and every expert's projections quantized as they are read from the
/// checkpoint's fused expert tensors), lower the held-out perplexity in a few steps.
/// </summary>
public sealed class Gemma4MoeFineTuneTests(ITestOutputHelper output) : TempFolderTest("qt-gemma4-moe-ft-")
{
    [Theory]
    [InlineData(FineTuneMethod.Lora)]
    [InlineData(FineTuneMethod.Qlora)]
    public void LoraAndQloraLowerHeldOutPerplexity(FineTuneMethod method)
    {
        var data = Path.Combine(Dir, "shakespeare-slice.txt");
        TinyShakespeare.WriteSlice(data, 20_000);
        var s = FineTuner.Run(new FineTuneRequest
        {
            ModelDirectory = TestData.TinyGemma4MoeDir,
            DataFile = data,
            OutputDirectory = Path.Combine(Dir, method.ToString()),
            Method = method,
            Targets = method == FineTuneMethod.Lora ? ["q_proj", "k_proj", "v_proj", "o_proj"] : ["all-linear"],
            SequenceLength = 64,
            MaxEvalExamples = 4,
            Training = new TrainingOptions { Steps = 4, BatchSize = 4, LearningRate = 5e-3, Seed = 7, EvalEvery = 4, Schedule = ScheduleKind.Constant },
        });
        output.WriteLine($"tiny-gemma4-moe {method}: {s.EvalPerplexityBefore:F2} → {s.EvalPerplexityAfter:F2}, trainable {s.TrainableParameters}");
        Assert.True(s.EvalPerplexityAfter < s.EvalPerplexityBefore, $"{s.EvalPerplexityBefore} → {s.EvalPerplexityAfter}");
    }
}
