using QuantTune.Formats.Gguf;
using QuantTune.Formats.Safetensors;
using QuantTune.Models.Loading;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary>
/// The PEFT LoRA fixture (fixtures/tiny-llama-lora) written as a llama.cpp LoRA adapter GGUF and
/// loaded back onto tiny-llama: PEFT's logits again.
/// </summary>
public sealed class GgufLoraTests(ITestOutputHelper output) : TempFolderTest("qt-gguf-lora-")
{
    [Fact]
    public void AdapterFileHasLlamaCppKeysNamesShapesAndPermutedQkRows()
    {
        var path = Path.Combine(Dir, "lora.gguf");
        GgufLoraExport.Write(TestData.TinyLlamaDir, TestData.TinyLlamaLoraDir, path);
        using var f = GgufFile.Open(path);
        Assert.Equal("adapter", f.Metadata["general.type"].AsString());
        Assert.Equal("lora", f.Metadata["adapter.type"].AsString());
        Assert.Equal("llama", f.Metadata["general.architecture"].AsString());
        Assert.Equal(16.0, f.Metadata["adapter.lora.alpha"].AsDouble());
        Assert.Equal(GgufValueType.Float32, f.Metadata["adapter.lora.alpha"].Type);
        Assert.Equal(56, f.Tensors.Count); // 4 layers × 7 projections × (A, B)
        Assert.All(f.Tensors, t => Assert.Equal(GgmlType.F32, t.Type));
        // ggml order (innermost first): lora_a [in, r], lora_b [r, out].
        Assert.Equal(new long[] { 256, 8 }, f.TensorsByName["blk.0.attn_q.weight.lora_a"].Dims);
        Assert.Equal(new long[] { 8, 256 }, f.TensorsByName["blk.0.attn_q.weight.lora_b"].Dims);
        Assert.Equal(new long[] { 704, 8 }, f.TensorsByName["blk.3.ffn_down.weight.lora_a"].Dims);
        Assert.Equal(new long[] { 8, 128 }, f.TensorsByName["blk.2.attn_k.weight.lora_b"].Dims);

        using var peft = SafetensorsFile.Open(Path.Combine(TestData.TinyLlamaLoraDir, AdapterIO.WeightsFile));
        using var qa = peft.ToTensor("base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight", ScalarType.Float32);
        Assert.Equal(qa.data<float>().ToArray(), f.ReadTensor("blk.1.attn_q.weight.lora_a"));
        // B's rows permuted as convert_hf_to_gguf.py permutes q (8 heads) and k (4 kv heads).
        using var qb = peft.ToTensor("base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight", ScalarType.Float32);
        using var expectedQ = qb.reshape(8, 2, 16, 8).transpose(1, 2).reshape(256, 8).contiguous();
        Assert.Equal(expectedQ.data<float>().ToArray(), f.ReadTensor("blk.1.attn_q.weight.lora_b"));
        using var kb = peft.ToTensor("base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight", ScalarType.Float32);
        using var expectedK = kb.reshape(4, 2, 16, 8).transpose(1, 2).reshape(128, 8).contiguous();
        Assert.Equal(expectedK.data<float>().ToArray(), f.ReadTensor("blk.1.attn_k.weight.lora_b"));
        using var vb = peft.ToTensor("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight", ScalarType.Float32);
        Assert.Equal(vb.data<float>().ToArray(), f.ReadTensor("blk.1.attn_v.weight.lora_b"));
    }

    [Fact]
    public void LoadedAdapterReproducesThePeftLogits()
    {
        using var scope = NewDisposeScope();
        var path = Path.Combine(Dir, "lora.gguf");
        GgufLoraExport.Write(TestData.TinyLlamaDir, TestData.TinyLlamaLoraDir, path);
        using var reference = SafetensorsFile.Open(Path.Combine(TestData.TinyLlamaLoraDir, "reference.safetensors"));
        var ids = reference.ToTensor("input_ids.0").unsqueeze(0);

        Tensor fromFolder, fromGguf;
        using (var m = PretrainedModel.Load(TestData.TinyLlamaDir))
        {
            AdapterIO.Load(m.Model, TestData.TinyLlamaLoraDir);
            using (inference_mode()) fromFolder = m.Model.Forward(ids)[0];
        }
        using (var m = PretrainedModel.Load(TestData.TinyLlamaDir))
        {
            var config = GgufLoraImport.Load(m.Model, path);
            Assert.Equal(8, config.R);
            Assert.Equal(16, config.LoraAlpha);
            Assert.Equal(28, LoraModel.Layers(m.Model).Count);
            Assert.All(LoraModel.Layers(m.Model), l => Assert.Equal(2.0, l.Layer.Scaling));
            Assert.DoesNotContain(m.Model.parameters(), p => p.requires_grad);
            using (inference_mode()) fromGguf = m.Model.Forward(ids)[0];
        }
        double vsFolder = (fromGguf - fromFolder).abs().max().item<float>();
        double vsPeft = (fromGguf - reference.ToTensor("logits.0")).abs().max().item<float>();
        output.WriteLine($"GGUF adapter: max |logits - PEFT folder| = {vsFolder:E2}, max |logits - PEFT reference| = {vsPeft:E2}");
        Assert.True(vsFolder <= 1e-5, $"logits differ from the PEFT folder's by {vsFolder}");
        Assert.True(vsPeft <= 1e-4, $"logits differ from PEFT's by {vsPeft}");
    }

    [Fact]
    public void F16AdapterAndBadInputs()
    {
        var path = Path.Combine(Dir, "lora-f16.gguf");
        GgufLoraExport.Write(TestData.TinyLlamaDir, TestData.TinyLlamaLoraDir, path, LlamaFileType.F16);
        using (var f = GgufFile.Open(path))
        {
            Assert.Equal(1, f.Metadata["general.file_type"].AsInt64());
            Assert.All(f.Tensors, t => Assert.Equal(GgmlType.F16, t.Type));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => GgufLoraExport.Write(TestData.TinyLlamaDir, TestData.TinyLlamaLoraDir, path, LlamaFileType.Q4_0));
        Assert.Contains("applied as an adapter", Assert.Throws<QuantTune.Diagnostics.InvalidFormatException>(() => GgufImport.Load(path)).Message);

        // A model GGUF is not an adapter; an adapter for other shapes is refused before the model changes.
        var modelGguf = Path.Combine(Dir, "model.gguf");
        using var m = PretrainedModel.Load(TestData.TinyLlamaDir);
        GgufExport.Write(m, modelGguf, LlamaFileType.F16);
        var e = Assert.Throws<QuantTune.Diagnostics.InvalidFormatException>(() => GgufLoraImport.Load(m.Model, modelGguf));
        Assert.Contains("general.type", e.Message);
        var w = new GgufWriter();
        w.Add("general.architecture", GgufValue.Of("llama"));
        w.Add("general.type", GgufValue.Of("adapter"));
        w.Add("adapter.type", GgufValue.Of("lora"));
        w.AddTensor("blk.0.attn_q.weight.lora_a", GgmlType.F32, [4, 128], new float[512]);
        w.AddTensor("blk.0.attn_q.weight.lora_b", GgmlType.F32, [256, 4], new float[1024]);
        var bad = Path.Combine(Dir, "bad.gguf");
        w.Write(bad);
        e = Assert.Throws<QuantTune.Diagnostics.InvalidFormatException>(() => GgufLoraImport.Load(m.Model, bad));
        Assert.Contains("[r, 256]", e.Message);
        Assert.Empty(LoraModel.Layers(m.Model));
    }

    [Fact]
    public void AnAdapterWhoseConfigRankDiffersFromItsWeightsIsRefused()
    {
        // r = 16 over r = 8 weights: llama.cpp reads r from the tensors and scales by alpha / 8, PEFT by alpha / 16.
        var adapter = Path.Combine(Dir, "adapter");
        Directory.CreateDirectory(adapter);
        foreach (var f in Directory.GetFiles(TestData.TinyLlamaLoraDir)) File.Copy(f, Path.Combine(adapter, Path.GetFileName(f)));
        var config = Path.Combine(adapter, "adapter_config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"r\": 8,", "\"r\": 16,"));
        var gguf = Path.Combine(Dir, "lora.gguf");
        var e = Assert.Throws<QuantTune.Diagnostics.InvalidFormatException>(() => GgufLoraExport.Write(TestData.TinyLlamaDir, adapter, gguf, LlamaFileType.F32));
        Assert.Equal(config, e.File);
        Assert.Equal("r", e.Field);
        Assert.Contains("rank 8", e.Message);
        Assert.False(File.Exists(gguf));
    }
}
