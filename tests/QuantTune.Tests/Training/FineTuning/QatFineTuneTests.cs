using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.Quantization;
using QuantTune.Training;
using QuantTune.Training.FineTuning;
using static TorchSharp.torch;

namespace QuantTune.Tests.Training.FineTuning;

public sealed class QatFineTuneTests() : TempFolderTest("qt-qat-")
{
    FineTuneRequest Request(string qat, double lr)
    {
        var data = Path.Combine(Dir, "data.txt");
        if (!File.Exists(data)) File.WriteAllText(data, File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "assets", "data", "wikitext-2", "wiki.train.raw.first1MB-nonblank.txt"))[..60_000]);
        return new FineTuneRequest
        {
            ModelDirectory = TestData.TinyLlamaDir, DataFile = data, OutputDirectory = Path.Combine(Dir, qat), Method = FineTuneMethod.Full, Qat = qat,
            SequenceLength = 64, MaxEvalExamples = 16,
            Training = new TrainingOptions { Steps = 20, BatchSize = 4, LearningRate = lr, Seed = 1, Schedule = ScheduleKind.Constant },
        };
    }

    [Fact]
    public void Int4QatImprovesOnRoundToNearestAndSavesWeightsOnTheGrid()
    {
        // Before training the fake quantizer is exactly round-to-nearest INT4 (block 64) of the original weights.
        var s = FineTuner.Run(Request("int4", 5e-5));
        Assert.True(s.EvalPerplexityAfter < s.EvalPerplexityBefore, $"{s.EvalPerplexityBefore} → {s.EvalPerplexityAfter}");
        using var ckpt = SafetensorsCheckpoint.Open(s.ResultDirectory);
        var quantizer = QuantizationSchemes.Create(new SchemeOptions("int4", Block: 64));
        foreach (var name in new[] { "model.layers.0.self_attn.q_proj.weight", "model.layers.3.mlp.down_proj.weight" })
        {
            using var scope = NewDisposeScope();
            var w = ckpt.ToTensor(name, ScalarType.Float32);
            var again = quantizer.Quantize(w).Dequantize();
            // The checkpoint is bf16 (the base model's dtype), which rounds grid values by up to 2⁻⁹
            // relative: re-quantizing moves them by that much at most, while round-to-nearest of
            // ordinary weights moves them by up to half a step (~7 % of the block's absmax).
            float moved = (again - w).abs().max().item<float>(), scale = w.abs().max().item<float>();
            Assert.True(moved <= 0.01f * scale, $"{name} moved by {moved} when re-quantized (max |w| {scale}): not on the INT4 grid");
        }
    }

    [Fact]
    public void BitNet158QatTrainsTernaryLayers()
    {
        var s = FineTuner.Run(Request("bitnet158", 5e-4));
        Assert.True(s.EvalPerplexityAfter < s.EvalPerplexityBefore, $"{s.EvalPerplexityBefore} → {s.EvalPerplexityAfter}");
        using var ckpt = SafetensorsCheckpoint.Open(s.ResultDirectory);
        using var w = ckpt.ToTensor("model.layers.1.mlp.up_proj.weight", ScalarType.Float32);
        // Ternary: every weight is −γ, 0 or +γ (γ = the tensor's scale; bf16 storage keeps the three values distinct).
        using var distinct = w.unique().Item1;
        Assert.Equal(3, distinct.numel());
        Assert.Equal(0f, distinct[1].item<float>());
    }

    [Fact]
    public void QatNeedsFullFineTuningOrLora()
    {
        var e = Assert.ThrowsAny<QuantTuneException>(() => FineTuner.Run(Request("int4", 5e-5) with { Method = FineTuneMethod.Qlora }));
        Assert.Contains("FineTuneRequest.Method full", e.Message);
        Assert.Contains("FineTuneRequest.Method qlora", e.Message);
    }
}
