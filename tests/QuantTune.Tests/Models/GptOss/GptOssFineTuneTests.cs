using QuantTune.Formats.Safetensors;
using QuantTune.Training;
using QuantTune.Training.FineTuning;
using Xunit.Abstractions;

namespace QuantTune.Tests.Models.GptOss;

/// <summary>
/// Fine-tuning tiny-gpt-oss (its experts read from MXFP4): LoRA on the attention's biased projections and on every
/// expert's gate, up and down lowers the held-out perplexity in a few steps, and so does QLoRA on NF4 experts.
/// </summary>
public sealed class GptOssFineTuneTests(ITestOutputHelper output) : TempFolderTest("qt-gptoss-ft-")
{
    FineTuneRequest Request(FineTuneMethod method)
    {
        var data = Path.Combine(Dir, "shakespeare-slice.txt");
        TinyShakespeare.WriteSlice(data, 30_000);
        return new()
        {
            ModelDirectory = TestData.TinyGptOssDir,
            DataFile = data,
            OutputDirectory = Path.Combine(Dir, method.ToString()),
            Method = method,
            SequenceLength = 32,
            MaxEvalExamples = 8,
            Training = new TrainingOptions { Steps = 6, BatchSize = 4, LearningRate = 3e-3, Seed = 7, EvalEvery = 6, Schedule = ScheduleKind.Constant },
        };
    }

    [Theory]
    [InlineData(FineTuneMethod.Lora)]
    [InlineData(FineTuneMethod.Qlora)]
    public void LoraAndQloraLowerHeldOutPerplexity(FineTuneMethod method)
    {
        var s = FineTuner.Run(Request(method));
        output.WriteLine($"tiny-gpt-oss {method}: {s.EvalPerplexityBefore:F2} → {s.EvalPerplexityAfter:F2}, trainable {s.TrainableParameters}");
        Assert.True(s.EvalPerplexityAfter < s.EvalPerplexityBefore, $"{s.EvalPerplexityBefore} → {s.EvalPerplexityAfter}");
        using var adapter = SafetensorsFile.Open(Path.Combine(s.ResultDirectory, "adapter_model.safetensors"));
        var keys = adapter.Tensors.Keys.ToList();
        Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", keys);
        Assert.Contains("base_model.model.model.layers.2.mlp.experts.7.down_proj.lora_B.weight", keys);
        Assert.DoesNotContain(keys, k => k.Contains(".mlp.router.", StringComparison.Ordinal));
    }
}
