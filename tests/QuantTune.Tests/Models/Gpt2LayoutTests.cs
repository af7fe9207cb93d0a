using System.Text.Json;
using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.Models.Config;
using QuantTune.Models.Loading;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using QuantTune.Quantization.FourBit;
using QuantTune.Quantization.Gptq;
using QuantTune.Quantization.Layers;
using QuantTune.Quantization.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models;

/// <summary>
/// GPT-2's layout through the product (tiny-gpt2): the module tree under GPT2LMHeadModel's names, so that adapters
/// have the keys PEFT writes for gpt2 (transformer.h.N.attn.c_attn); Conv1D weights ([in, out]) read and written
/// in the checkpoint's layout; NF4 and GPTQ on c_attn, attn.c_proj, c_fc and mlp.c_proj; GPT2Config's keys.
/// </summary>
public sealed class Gpt2LayoutTests(ITestOutputHelper output) : TempFolderTest("qt-gpt2-")
{
    [Fact]
    public void TheModulesHaveTheCheckpointsNames()
    {
        using var model = PretrainedModel.Load(TestData.TinyGpt2Dir);
        var names = model.Model.named_parameters().Select(p => p.name).ToHashSet();
        using var file = SafetensorsFile.Open(Path.Combine(TestData.TinyGpt2Dir, "model.safetensors"));
        Assert.Equal(file.Tensors.Keys.Order(), names.Order());
        Assert.Contains("transformer.h.1.attn.c_attn.bias", names);
        Assert.Contains("transformer.wpe.weight", names);
        Assert.Empty(model.UnusedKeys);
        // Stored [in, out]: c_attn [128, 384] becomes a Linear of weight [384, 128].
        Assert.Equal([128, 384], file.Info("transformer.h.0.attn.c_attn.weight").Shape);
        Assert.Equal([384, 128], model.Model.model.layers[0].self_attn!.qkv_proj!.named_parameters().First(p => p.name == "weight").parameter.shape);
    }

    /// <summary>openai-community/gpt2's own model.safetensors (saved from GPT2Model) has no "transformer." prefix.</summary>
    [Fact]
    public void ACheckpointWithoutTheTransformerPrefixLoadsTheSame()
    {
        var folder = Path.Combine(Dir, "unprefixed");
        Directory.CreateDirectory(folder);
        foreach (var f in new[] { "config.json", "tokenizer.json", "tokenizer_config.json" }) File.Copy(Path.Combine(TestData.TinyGpt2Dir, f), Path.Combine(folder, f));
        using (var source = SafetensorsFile.Open(Path.Combine(TestData.TinyGpt2Dir, "model.safetensors")))
        {
            using var scope = NewDisposeScope();
            SafetensorsWriter.Write(Path.Combine(folder, "model.safetensors"),
                source.Tensors.Keys.Order(StringComparer.Ordinal).Select(k => new KeyValuePair<string, Tensor>(k["transformer.".Length..], source.ToTensor(k))));
        }
        using var a = PretrainedModel.Load(TestData.TinyGpt2Dir);
        using var b = PretrainedModel.Load(folder);
        using var scope2 = NewDisposeScope();
        var ids = LayoutTestInputs.Ids();
        Assert.Equal(0.0, (LayoutTestInputs.Logits(a, ids) - LayoutTestInputs.Logits(b, ids)).abs().max().item<float>());
        Assert.Empty(b.UnusedKeys);
    }

    /// <summary>PEFT's keys for gpt2 (base_model.model.transformer.h.N.attn.c_attn.lora_A.weight), fan_in_fan_out true as PEFT sets it for Conv1D; merged, the checkpoint is Conv1D again and reloads to the adapter's logits.</summary>
    [Fact]
    public void ALoraAdapterHasPeftsGpt2KeysAndMergesIntoAConv1DCheckpoint()
    {
        using var scope = NewDisposeScope();
        var ids = LayoutTestInputs.Ids();
        var adapter = Path.Combine(Dir, "adapter");
        var config = new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = PeftTargets.FromNames("c_attn", "c_proj"), BaseModelNameOrPath = "tiny-gpt2", FanInFanOut = true };
        Tensor adapted;
        using (var model = PretrainedModel.Load(TestData.TinyGpt2Dir))
        {
            var applied = LoraModel.Apply(model.Model, config, seed: 3);
            using (no_grad())
                foreach (var (_, lora) in LoraModel.Layers(model.Model)) lora.lora_B.weight.normal_(0, 0.05);
            adapted = LayoutTestInputs.Logits(model, ids);
            AdapterIO.Save(model.Model, config, adapter);
        }
        using (var saved = SafetensorsFile.Open(Path.Combine(adapter, AdapterIO.WeightsFile)))
        {
            // c_proj matches both attn.c_proj and mlp.c_proj, as in PEFT: 3 targets × 2 layers × (A, B).
            Assert.Equal(3 * 2 * 2, saved.Tensors.Count);
            Assert.Equal([4, 128], saved.Info("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight").Shape);
            Assert.Equal([384, 4], saved.Info("base_model.model.transformer.h.1.attn.c_attn.lora_B.weight").Shape);
            Assert.Equal([4, 512], saved.Info("base_model.model.transformer.h.0.mlp.c_proj.lora_A.weight").Shape);
        }
        var adapterConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(adapter, AdapterConfig.FileName)))!;
        Assert.True((bool)adapterConfig["fan_in_fan_out"]!);

        var merged = Path.Combine(Dir, "merged");
        using (var reloaded = PretrainedModel.Load(TestData.TinyGpt2Dir))
        {
            AdapterIO.Load(reloaded.Model, adapter);
            Assert.Equal(0.0, (LayoutTestInputs.Logits(reloaded, ids) - adapted).abs().max().item<float>(), 6);
            LoraModel.Merge(reloaded.Model);
            PlainCheckpoint.SaveCheckpoint(reloaded.Model, TestData.TinyGpt2Dir, merged);
        }
        using (var file = SafetensorsFile.Open(Path.Combine(merged, "model.safetensors")))
            Assert.Equal([128, 384], file.Info("transformer.h.0.attn.c_attn.weight").Shape);
        using var back = PretrainedModel.Load(merged);
        double diff = (LayoutTestInputs.Logits(back, ids) - adapted).abs().max().item<float>();
        output.WriteLine($"merged checkpoint vs adapter logits: {diff:E2}");
        Assert.True(diff < 1e-4, $"{diff}");
    }

    [Fact]
    public void AnNf4CheckpointOfGpt2LoadsBackWithTheSameLogits()
    {
        var folder = Path.Combine(Dir, "nf4");
        using var scope = NewDisposeScope();
        var ids = LayoutTestInputs.Ids();
        Tensor before, quantized;
        using (var model = PretrainedModel.Load(TestData.TinyGpt2Dir))
        {
            before = LayoutTestInputs.Logits(model, ids);
            ModelQuantizer.Quantize(model.Model, new FourBitQuantizer(FourBitType.NF4, 64, true), ScalarType.Float32);
            var layer = model.Model.model.layers[1];
            Assert.IsType<QuantizedLinear>(layer.self_attn!.qkv_proj);
            Assert.IsType<QuantizedLinear>(((QuantTune.Models.Transformer.Mlp)layer.mlp).up_proj);
            quantized = LayoutTestInputs.Logits(model, ids);
            QuantizedCheckpoint.Save(model.Model, TestData.TinyGpt2Dir, folder, ScalarType.Float32);
        }
        double error = (quantized - before).abs().mean().item<float>() / before.abs().mean().item<float>();
        output.WriteLine($"NF4 relative mean logit change {error:E2}");
        Assert.True(error is > 0 and < 0.5, $"{error}");
        using var loaded = PretrainedModel.Load(folder);
        Assert.Empty(loaded.UnusedKeys);
        Assert.Equal(0.0, (LayoutTestInputs.Logits(loaded, ids) - quantized).abs().max().item<float>(), 5);
    }

    /// <summary>GPTQ solves c_attn, attn.c_proj, mlp.c_fc and mlp.c_proj in true-sequential order, below RTN in every layer; the checkpoint loads back.</summary>
    [Fact]
    public void GptqQuantizesGpt2BelowRoundToNearestAndLoadsBack()
    {
        using var loaded = LayoutTestInputs.GptqBelowRoundToNearestAndLoadsBack(TestData.TinyGpt2Dir, Path.Combine(Dir, "gptq"), l => new[] { "attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj" }.Select(n => $"transformer.h.{l}.{n}"), output);
        Assert.IsType<QuantizedLinear>(loaded.Model.model.layers[0].self_attn!.qkv_proj);
    }

    /// <summary>GPT2Model.set_gguf_parameters's keys, position_embd (kept F32), the norms' and projections' biases, attn_qkv in a Linear's layout (the converter transposes the Conv1D weights), no output tensor for the tied head.</summary>
    [Fact]
    public void GgufExportHasGpt2ModelsKeysAndTensors()
    {
        using var model = PretrainedModel.Load(TestData.TinyGpt2Dir);
        using var f = QuantTune.Tests.Formats.Gguf.ConverterLayout.Export(model, Dir, "gpt2");
        QuantTune.Tests.Formats.Gguf.ConverterLayout.AssertKeys(f, "gpt2",
            ["gpt2.block_count", "gpt2.context_length", "gpt2.embedding_length", "gpt2.feed_forward_length", "gpt2.attention.head_count", "gpt2.attention.layer_norm_epsilon"]);
        Assert.Equal(256, f.Metadata["gpt2.context_length"].AsInt64());
        Assert.Equal(512, f.Metadata["gpt2.feed_forward_length"].AsInt64());
        string[] parts = ["attn_norm", "attn_qkv", "attn_output", "ffn_norm", "ffn_up", "ffn_down"];
        QuantTune.Tests.Formats.Gguf.ConverterLayout.AssertTensors(f, ["token_embd.weight", "position_embd.weight", "output_norm.weight", "output_norm.bias"], 2,
            [.. parts.Select(p => p + ".weight"), .. parts.Select(p => p + ".bias")]);
        Assert.Equal(new long[] { 128, 384 }, f.TensorsByName["blk.0.attn_qkv.weight"].Dims); // ggml's [in, out]: rows of out features, as a Linear's
        using var qkv = model.Model.named_parameters().First(p => p.name == "transformer.h.1.attn.c_attn.weight").parameter.detach();
        Assert.Equal(qkv.data<float>().ToArray(), f.ReadTensor("blk.1.attn_qkv.weight"));
        var plan = QuantTune.Formats.Gguf.GgufExport.Write(model, Path.Combine(Dir, "q8.gguf"), QuantTune.Formats.Gguf.LlamaFileType.Q8_0);
        Assert.Equal(QuantTune.Formats.Gguf.GgmlType.F32, plan["position_embd.weight"]);
        Assert.Equal(QuantTune.Formats.Gguf.GgmlType.Q8_0, plan["blk.0.ffn_up.weight"]);
    }

    [Fact]
    public void Gpt2ConfigKeysAreRead()
    {
        var c = ModelConfig.Load(TestData.TinyGpt2Dir);
        Assert.Equal((128, 512, 2, 4, 4, 32, 256), (c.HiddenSize, c.IntermediateSize, c.NumLayers, c.NumHeads, c.NumKvHeads, c.HeadDim, c.MaxPositionEmbeddings));
        Assert.Equal((NormKind.LayerNorm, PositionKind.Learned, MlpKind.Plain, ProjectionLayout.Fused), (c.Norm, c.Positions, c.Mlp, c.Projections));
        Assert.True(c.TieWordEmbeddings && c.QkvBias && c.OutputBias && c.MlpBias && c.Conv1DWeights);
        Assert.Equal(1e-5, c.RmsNormEps);
        // GPT2Config's n_ctx (older files) and its default tie.
        var old = ModelConfig.Parse("{\"model_type\": \"gpt2\", \"vocab_size\": 4096, \"n_embd\": 64, \"n_layer\": 2, \"n_head\": 4, \"n_ctx\": 512}");
        Assert.Equal(512, old.MaxPositionEmbeddings);
        Assert.Equal(256, old.IntermediateSize);
        Assert.True(old.TieWordEmbeddings);
    }

    /// <summary>openai-community/gpt2's config (shipped for plan): 124,439,808 parameters, GPT2LMHeadModel's num_parameters() with the tied head.</summary>
    [Fact]
    public void ThePlannerCountsGpt2SmallAsTransformersDoes()
    {
        var config = ModelConfig.Load(ConfigSources.Resolve("gpt2"));
        Assert.Equal(124_439_808, QuantTune.Training.Memory.MemoryPlanner.Plan(new QuantTune.Training.Memory.PlanRequest(config, "full", 1, 16)).TrainableParameters);
    }

    [Theory]
    [InlineData("\"scale_attn_by_inverse_layer_idx\": true", "scale_attn_by_inverse_layer_idx")]
    [InlineData("\"scale_attn_weights\": false", "scale_attn_weights")]
    [InlineData("\"activation_function\": \"swish\"", "activation_function")]
    [InlineData("\"n_head\": 0", "n_head")]
    public void ABadGpt2SettingNamesItsField(string setting, string field)
    {
        var json = $"{{\"model_type\": \"gpt2\", \"vocab_size\": 4096, \"n_embd\": 64, \"n_layer\": 2, \"n_head\": 4, {setting}}}".Replace("\"n_head\": 4, \"n_head\": 0", "\"n_head\": 0");
        var e = Assert.ThrowsAny<QuantTuneException>(() => ModelConfig.Parse(json, "config.json"));
        Assert.Contains(field, e.Message);
        Assert.Contains("config.json", e.Message);
    }
}
