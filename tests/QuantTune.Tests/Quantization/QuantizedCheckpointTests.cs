using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Evaluation;
using QuantTune.Formats.Safetensors;
using QuantTune.Models.Loading;
using QuantTune.Quantization.FourBit;
using QuantTune.Quantization.Layers;
using QuantTune.Quantization.Models;
using static TorchSharp.torch;

namespace QuantTune.Tests.Quantization;

public sealed class QuantizedCheckpointTests() : TempFolderTest("qt-q-")
{
    string Quantized(FourBitType type, bool doubleQuant, out PretrainedModel model)
    {
        model = PretrainedModel.Load(TestData.TinyLlamaDir);
        ModelQuantizer.Quantize(model.Model, new FourBitQuantizer(type, 64, doubleQuant), ScalarType.BFloat16);
        var output = Path.Combine(Dir, "q");
        QuantizedCheckpoint.Save(model.Model, TestData.TinyLlamaDir, output, ScalarType.BFloat16);
        return output;
    }

    [Fact]
    public void SavedNf4CheckpointUsesBitsandbytesKeysAndReloadsToTheSameLogits()
    {
        var dir = Quantized(FourBitType.NF4, doubleQuant: true, out var inMemory);
        using (inMemory)
        {
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!["quantization_config"]!;
            Assert.Equal("bitsandbytes", config["quant_method"]!.GetValue<string>());
            Assert.True(config["load_in_4bit"]!.GetValue<bool>());
            Assert.Equal("nf4", config["bnb_4bit_quant_type"]!.GetValue<string>());
            Assert.True(config["bnb_4bit_use_double_quant"]!.GetValue<bool>());
            using (var ckpt = SafetensorsCheckpoint.Open(dir))
            {
                const string w = "model.layers.0.self_attn.q_proj.weight";
                foreach (var suffix in new[] { "", ".absmax", ".quant_map", ".nested_absmax", ".nested_quant_map", ".quant_state.bitsandbytes__nf4" })
                    Assert.True(ckpt.Contains(w + suffix), w + suffix);
                Assert.Equal(SafetensorsDType.U8, ckpt.Info(w).DType);
                Assert.Equal([256L * 256 / 2, 1L], ckpt.Info(w).Shape);
                Assert.Equal(SafetensorsDType.BF16, ckpt.Info("lm_head.weight").DType);
                Assert.False(ckpt.Contains("lm_head.weight.absmax"));
            }
            using var reloaded = PretrainedModel.Load(dir);
            Assert.Equal(28, reloaded.Model.named_modules().Count(m => m.module is QuantizedLinear));
            Assert.Empty(reloaded.UnusedKeys);
            using var scope = NewDisposeScope();
            using var _ = inference_mode();
            var ids = randint(0, 4096, [1, 32], dtype: ScalarType.Int64);
            var a = inMemory.Model.Forward(ids);
            var b = reloaded.Model.Forward(ids);
            Assert.True((a - b).abs().max().item<float>() < 1e-5);
        }
    }

    [Fact]
    public void Nf4PerplexityStaysCloseToTheOriginal()
    {
        var dir = Quantized(FourBitType.NF4, doubleQuant: true, out var inMemory);
        inMemory.Dispose();
        using var original = PretrainedModel.Load(TestData.TinyLlamaDir);
        using var quantized = PretrainedModel.Load(dir);
        var ids = WikiTextTokens.Of(original.Tokenizer).Take(8193).ToList();
        var p0 = PerplexityEvaluator.Evaluate(original.Model, ids).Perplexity;
        var p1 = PerplexityEvaluator.Evaluate(quantized.Model, ids).Perplexity;
        Assert.InRange(p1 / p0, 1.0, 1.15);
    }

    [Fact]
    public void MissingConstantsAreNamed()
    {
        var dir = Quantized(FourBitType.FP4, doubleQuant: false, out var inMemory);
        inMemory.Dispose();
        var file = Path.Combine(dir, SafetensorsCheckpoint.SingleFile);
        Dictionary<string, Tensor> all;
        using (var ckpt = SafetensorsCheckpoint.Open(dir)) all = ckpt.Names.ToDictionary(n => n, n => ckpt.ToTensor(n));
        all.Remove("model.layers.2.mlp.down_proj.weight.absmax");
        SafetensorsWriter.Write(file, all);
        var e = Assert.ThrowsAny<QuantTuneException>(() => PretrainedModel.Load(dir));
        Assert.Contains("model.layers.2.mlp.down_proj.weight", e.Message);
        Assert.Contains("weight.absmax", e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void CorruptedQuantStateIsNamed()
    {
        var dir = Quantized(FourBitType.NF4, doubleQuant: false, out var inMemory);
        inMemory.Dispose();
        Dictionary<string, Tensor> all;
        using (var ckpt = SafetensorsCheckpoint.Open(dir)) all = ckpt.Names.ToDictionary(n => n, n => ckpt.ToTensor(n));
        all["model.layers.1.self_attn.k_proj.weight.quant_state.bitsandbytes__nf4"] = tensor(System.Text.Encoding.UTF8.GetBytes("{\"quant_type\": \"nf4\", \"blocksize\""));
        SafetensorsWriter.Write(Path.Combine(dir, SafetensorsCheckpoint.SingleFile), all);
        var e = Assert.ThrowsAny<QuantTuneException>(() => PretrainedModel.Load(dir));
        Assert.Contains("k_proj", e.Message);
        Assert.Contains("not valid JSON", e.Message);
    }

    [Fact]
    public void EightBitBitsandbytesCheckpointsAreRefusedClearly()
    {
        foreach (var f in Directory.GetFiles(TestData.TinyLlamaDir)) File.Copy(f, Path.Combine(Dir, Path.GetFileName(f)));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "config.json")))!.AsObject();
        config["quantization_config"] = new JsonObject { ["quant_method"] = "bitsandbytes", ["load_in_8bit"] = true };
        File.WriteAllText(Path.Combine(Dir, "config.json"), config.ToJsonString());
        var e = Assert.ThrowsAny<QuantTuneException>(() => PretrainedModel.Load(Dir));
        Assert.Contains("quantization_config.quant_method", e.Message);
        Assert.Contains("load_in_8bit", e.Message);
    }
}
