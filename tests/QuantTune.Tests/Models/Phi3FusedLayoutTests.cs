using System.Text.Json;
using QuantTune.Diagnostics;
using QuantTune.Formats.Gguf;
using QuantTune.Formats.Gguf.Architectures;
using QuantTune.Formats.Safetensors;
using QuantTune.Models.Config;
using QuantTune.Models.Loading;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using QuantTune.Quantization.FourBit;
using QuantTune.Quantization.Gptq;
using QuantTune.Quantization.Layers;
using QuantTune.Quantization.Models;
using QuantTune.Tests.Formats.Gguf;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models;

/// <summary>
/// Phi-3's fused layout through the product (tiny-phi3: qkv_proj [q+2kv, hidden], gate_up_proj [2·intermediate, hidden]):
/// a PEFT adapter on the fused modules with the keys PEFT writes, merged; QLoRA's NF4 and GPTQ on the fused linears;
/// GGUF as convert_hf_to_gguf.py's Phi3MiniModel writes it; config errors naming the field.
/// </summary>
public sealed class Phi3FusedLayoutTests(ITestOutputHelper output) : TempFolderTest("qt-phi3-")
{
    [Fact]
    public void ALoraAdapterOnTheFusedModulesHasPeftsKeysAndMergesToTheSameLogits()
    {
        using var scope = NewDisposeScope();
        var ids = LayoutTestInputs.Ids();
        var config = new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = PeftTargets.FromNames("qkv_proj", "gate_up_proj"), BaseModelNameOrPath = "tiny-phi3" };
        Tensor adapted;
        using (var model = PretrainedModel.Load(TestData.TinyPhi3Dir))
        {
            LoraModel.Apply(model.Model, config, seed: 3);
            using (no_grad())
                foreach (var (_, lora) in LoraModel.Layers(model.Model)) lora.lora_B.weight.normal_(0, 0.05);
            adapted = LayoutTestInputs.Logits(model, ids);
            AdapterIO.Save(model.Model, config, Dir);
        }
        using (var saved = SafetensorsFile.Open(Path.Combine(Dir, AdapterIO.WeightsFile)))
        {
            Assert.Equal(2 * 2 * 2, saved.Tensors.Count);
            Assert.Equal([4, 128], saved.Info("base_model.model.model.layers.0.self_attn.qkv_proj.lora_A.weight").Shape);
            Assert.Equal([(4 + 2 * 2) * 32, 4], saved.Info("base_model.model.model.layers.1.self_attn.qkv_proj.lora_B.weight").Shape);
            Assert.Equal([2 * 128, 4], saved.Info("base_model.model.model.layers.0.mlp.gate_up_proj.lora_B.weight").Shape);
        }
        using var adapterConfig = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, AdapterConfig.FileName)));
        Assert.Equal(["gate_up_proj", "qkv_proj"], adapterConfig.RootElement.GetProperty("target_modules").EnumerateArray().Select(e => e.GetString()).Order());

        using var reloaded = PretrainedModel.Load(TestData.TinyPhi3Dir);
        AdapterIO.Load(reloaded.Model, Dir);
        Assert.Equal(0.0, (LayoutTestInputs.Logits(reloaded, ids) - adapted).abs().max().item<float>(), 6);
        LoraModel.Merge(reloaded.Model);
        double merged = (LayoutTestInputs.Logits(reloaded, ids) - adapted).abs().max().item<float>();
        output.WriteLine($"merged vs adapter logits: {merged:E2}");
        Assert.True(merged < 1e-4, $"{merged}");
    }

    [Fact]
    public void Nf4QuantizesTheFusedLinears()
    {
        using var model = PretrainedModel.Load(TestData.TinyPhi3Dir);
        using var scope = NewDisposeScope();
        var ids = LayoutTestInputs.Ids();
        var before = LayoutTestInputs.Logits(model, ids);
        ModelQuantizer.Quantize(model.Model, new FourBitQuantizer(FourBitType.NF4, 64, false), ScalarType.Float32);
        var layer = model.Model.model.layers[1];
        Assert.IsType<QuantizedLinear>(layer.self_attn!.qkv_proj);
        Assert.IsType<QuantizedLinear>(((QuantTune.Models.Transformer.Mlp)layer.mlp).gate_up_proj);
        Assert.Null(layer.self_attn!.q_proj);
        var after = LayoutTestInputs.Logits(model, ids);
        double error = (after - before).abs().mean().item<float>() / before.abs().mean().item<float>();
        output.WriteLine($"NF4 relative mean logit change {error:E2}");
        Assert.True(error is > 0 and < 0.5, $"{error}");
    }

    /// <summary>GPTQ solves qkv_proj with one Hessian (its input is the attention input) and gate_up_proj with the MLP input's, in true-sequential order; the AutoGPTQ checkpoint loads back.</summary>
    [Fact]
    public void GptqQuantizesTheFusedLinearsBelowRoundToNearestAndLoadsBack()
    {
        using var loaded = LayoutTestInputs.GptqBelowRoundToNearestAndLoadsBack(TestData.TinyPhi3Dir, Path.Combine(Dir, "gptq"), l => new[] { "self_attn.qkv_proj", "self_attn.o_proj", "mlp.gate_up_proj", "mlp.down_proj" }.Select(n => $"model.layers.{l}.{n}"), output);
        Assert.IsType<QuantizedLinear>(loaded.Model.model.layers[0].self_attn!.qkv_proj);
    }

    /// <summary>Phi3MiniModel.set_gguf_parameters's keys (not TextModel's), attn_qkv and ffn_up holding the fused rows as HF stores them, and LongRoPE's factor tensors.</summary>
    [Fact]
    public void GgufExportHasPhi3MiniModelsKeysFusedTensorsAndRopeFactors()
    {
        using var model = PretrainedModel.Load(TestData.TinyPhi3Dir);
        using var f = ConverterLayout.Export(model, Dir, "phi3");
        ConverterLayout.AssertKeys(f, "phi3",
        [
            "phi3.context_length", "phi3.rope.scaling.original_context_length", "phi3.embedding_length", "phi3.feed_forward_length",
            "phi3.block_count", "phi3.attention.head_count", "phi3.attention.head_count_kv", "phi3.attention.layer_norm_rms_epsilon",
            "phi3.rope.dimension_count", "phi3.rope.freq_base", "phi3.attention.sliding_window", "phi3.rope.scaling.attn_factor",
        ]);
        Assert.Equal(16, f.Metadata["phi3.rope.dimension_count"].AsInt64());
        Assert.Equal(48, f.Metadata["phi3.rope.scaling.original_context_length"].AsInt64());
        Assert.Equal(0, f.Metadata["phi3.attention.sliding_window"].AsInt64());
        // the converter's √(1 + ln(1024/48) / ln 48)
        Assert.Equal(Math.Sqrt(1 + Math.Log(1024.0 / 48) / Math.Log(48)), f.Metadata["phi3.rope.scaling.attn_factor"].AsDouble(), 6);
        string[] perLayer = ["attn_norm", "attn_qkv", "attn_output", "ffn_norm", "ffn_up", "ffn_down"];
        ConverterLayout.AssertTensors(f, ["token_embd.weight", "output_norm.weight", "rope_factors_long.weight", "rope_factors_short.weight"], 2, ConverterLayout.Weights(perLayer));
        Assert.Equal(new long[] { 128, 256 }, f.TensorsByName["blk.0.ffn_up.weight"].Dims);
        Assert.Equal([1.0f, 1.5f, 2.4f, 3.9f, 6.0f, 9.5f, 14.0f, 20.0f], f.ReadTensor("rope_factors_long.weight"));
        using var qkv = model.Model.named_parameters().First(p => p.name == "model.layers.1.self_attn.qkv_proj.weight").parameter.detach();
        Assert.Equal(qkv.data<float>().ToArray(), f.ReadTensor("blk.1.attn_qkv.weight"));
    }

    /// <summary>A phi3 GGUF read back (fused tensors, partial rotary share, LongRoPE from its factor tensors and keys) is the model it came from.</summary>
    [Fact]
    public void AnExportedPhi3GgufReadsBackAsTheSameModel()
    {
        using var model = PretrainedModel.Load(TestData.TinyPhi3Dir);
        var path = Path.Combine(Dir, "phi3.gguf");
        GgufExport.Write(model, path, LlamaFileType.F32);
        using var back = PretrainedModel.Load(path);
        Assert.Equal(ProjectionLayout.Fused, back.Config.Projections);
        Assert.Equal(0.5, back.Config.PartialRotaryFactor);
        Assert.Equal("longrope", back.Config.Rope.Type);
        Assert.Equal(48, back.Config.Rope.OriginalMaxPositionEmbeddings);
        using var scope = NewDisposeScope();
        foreach (int length in new[] { 24, 64 }) // short factors, then long ones
        {
            var ids = LayoutTestInputs.Ids(length);
            double diff = (LayoutTestInputs.Logits(back, ids) - LayoutTestInputs.Logits(model, ids)).abs().max().item<float>();
            output.WriteLine($"{length} tokens: max |Δlogits| read-back vs source {diff:E2}");
            Assert.True(diff < 1e-5, $"{length} tokens: {diff}");
        }
    }

    [Fact]
    public void Q4KMGivesTheFusedQkvAttnVsTypes()
    {
        using var model = PretrainedModel.Load(TestData.TinyPhi3Dir);
        var plan = GgufExport.Write(model, Path.Combine(Dir, "q4.gguf"), LlamaFileType.Q4_K_M);
        // llama.cpp v0.5.0: attn_qkv takes attn_v's rules: of 2 layers the last is a use_more_bits layer (Q6_K, whose 256-wide
        // block falls back to Q8_0 on 128-wide rows); the first stays Q4_K (→ Q5_0), as does the fused ffn_up.
        Assert.Equal(GgmlType.Q8_0, plan["blk.1.attn_qkv.weight"]);
        Assert.Equal(GgmlType.Q5_0, plan["blk.0.attn_qkv.weight"]);
        Assert.Equal(GgmlType.Q5_0, plan["blk.1.ffn_up.weight"]);
        Assert.Equal(GgmlType.F32, plan["rope_factors_short.weight"]);
    }

    /// <summary>A config.json of tiny-phi3's sizes (hidden 128, 4 heads, 2 layers) for <paramref name="modelType"/>, with <paramref name="extra"/> fields.</summary>
    static string TinyConfig(string modelType, string extra) =>
        $"{{\"model_type\": \"{modelType}\", \"vocab_size\": 4096, \"hidden_size\": 128, \"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, {extra}}}";

    [Theory]
    [InlineData("\"rope_scaling\": {\"type\": \"longrope\", \"short_factor\": [1, 2], \"long_factor\": [1, 2, 3, 4, 5, 6, 7, 8]}", "rope_scaling.short_factor")]
    [InlineData("\"rope_scaling\": {\"type\": \"longrope\", \"short_factor\": [1, 2, 3, 4, 5, 6, 7, 8]}", "rope_scaling.long_factor")]
    [InlineData("\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}", "rope_scaling.type")]
    [InlineData("\"partial_rotary_factor\": 1.5", "partial_rotary_factor")]
    [InlineData("\"partial_rotary_factor\": 0.03", "partial_rotary_factor")]
    public void ABadPhi3RopeSettingNamesItsField(string setting, string field)
    {
        var json = TinyConfig("phi3", "\"num_key_value_heads\": 2, \"partial_rotary_factor\": 0.5, " + setting);
        var e = Assert.ThrowsAny<QuantTuneException>(() => ModelConfig.Parse(json, "config.json"));
        Assert.Contains(field, e.Message);
        Assert.Contains("config.json", e.Message);
    }

    [Fact]
    public void LongRopeOutsidePhi3IsRefusedNamingTheField()
    {
        var json = TinyConfig("llama", "\"rope_scaling\": {\"type\": \"longrope\", \"short_factor\": [1], \"long_factor\": [1]}");
        var e = Assert.ThrowsAny<QuantTuneException>(() => ModelConfig.Parse(json, "config.json"));
        Assert.Contains("rope_scaling.type", e.Message);
        Assert.Contains("phi3", e.Message);
    }

    [Fact]
    public void GgufExportRefusesAHeadSizeLlamaCppsPhi3CannotRepresent()
    {
        var json = TinyConfig("phi3", "\"head_dim\": 64");
        var e = Assert.ThrowsAny<QuantTuneException>(() => new Phi3Architecture().CheckRepresentable(ModelConfig.Parse(json), Dir));
        output.WriteLine(e.Message);
        Assert.Contains("head_dim", e.Message);
        Assert.Contains("config.json", e.Message);
    }
}
