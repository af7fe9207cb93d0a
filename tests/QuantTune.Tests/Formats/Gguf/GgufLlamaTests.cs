using QuantTune.Formats.Gguf;
using QuantTune.Models.Loading;
using static TorchSharp.torch;

namespace QuantTune.Tests.Formats.Gguf;

public sealed class GgufLlamaTests() : TempFolderTest("qt-gguf-llama-")
{
    /// <summary>A quantized model exports whole: its quantized weights, which are not parameters, dequantized (once, 11 of 39 tensors were written).</summary>
    [Fact]
    public void AnNf4ModelExportsEveryTensorWithItsDequantizedWeights()
    {
        using var model = PretrainedModel.Load(TestData.TinyLlamaDir);
        QuantTune.Quantization.Models.ModelQuantizer.QuantizeNf4DoubleQuant(model.Model);
        var path = Path.Combine(Dir, "nf4.gguf");
        GgufExport.Write(model, path, LlamaFileType.F32);
        using var f = GgufFile.Open(path);
        Assert.Equal(2 + 9 * 4 + 1, f.Tensors.Count);
        var q = model.Model.named_modules().Single(m => m.name == "model.layers.2.mlp.down_proj").module;
        using var expected = ((QuantTune.Quantization.Layers.QuantizedLinear)q).Weight.Dequantize();
        Assert.Equal(expected.data<float>().ToArray(), f.ReadTensor("blk.2.ffn_down.weight"));
    }

    [Fact]
    public void TinyLlamaF32ExportImportRoundTrip()
    {
        using var model = PretrainedModel.Load(TestData.TinyLlamaDir);
        var path = Path.Combine(Dir, "tiny.gguf");
        GgufExport.Write(model, path, LlamaFileType.F32);
        var cfg = model.Config;

        using (var f = GgufFile.Open(path))
        {
            Assert.Equal("llama", f.Metadata["general.architecture"].AsString());
            Assert.Equal(0, f.Metadata["general.file_type"].AsInt64());
            Assert.Equal(256, f.Metadata["llama.embedding_length"].AsInt64());
            Assert.Equal(4, f.Metadata["llama.block_count"].AsInt64());
            Assert.Equal(704, f.Metadata["llama.feed_forward_length"].AsInt64());
            Assert.Equal(8, f.Metadata["llama.attention.head_count"].AsInt64());
            Assert.Equal(4, f.Metadata["llama.attention.head_count_kv"].AsInt64());
            Assert.Equal(32, f.Metadata["llama.rope.dimension_count"].AsInt64());
            Assert.Equal(1024, f.Metadata["llama.context_length"].AsInt64());
            Assert.Equal(1e-5f, (float)f.Metadata["llama.attention.layer_norm_rms_epsilon"].AsDouble());
            Assert.Equal(10000.0, f.Metadata["llama.rope.freq_base"].AsDouble());
            Assert.Equal("gpt2", f.Metadata["tokenizer.ggml.model"].AsString());
            Assert.Equal("gpt-2", f.Metadata["tokenizer.ggml.pre"].AsString());
            var tokens = f.Metadata["tokenizer.ggml.tokens"].AsArray<string>();
            var types = f.Metadata["tokenizer.ggml.token_type"].AsArray<int>();
            Assert.Equal(4096, tokens.Length);
            Assert.Equal("<s>", tokens[1]);
            Assert.Equal([3, 3, 3, 3, 1], types[..5]);
            Assert.Equal(model.Tokenizer.IdToToken(1000), tokens[1000]);
            var merges = f.Metadata["tokenizer.ggml.merges"].AsArray<string>();
            Assert.Equal("Ġ t", merges[0]);
            Assert.Equal(1, f.Metadata["tokenizer.ggml.bos_token_id"].AsInt64());
            Assert.Equal(2, f.Metadata["tokenizer.ggml.eos_token_id"].AsInt64());
            Assert.Equal(3, f.Metadata["tokenizer.ggml.padding_token_id"].AsInt64());
            Assert.Equal(2 + 9 * 4 + 1, f.Tensors.Count);
            Assert.Equal(new long[] { 256, 4096 }, f.TensorsByName["token_embd.weight"].Dims);

            // The q rows against torch's reshape/swapaxes (convert_hf_to_gguf.py permute).
            using var q = model.Model.named_parameters().First(p => p.name == "model.layers.1.self_attn.q_proj.weight").parameter.detach();
            using var expectedQ = q.reshape(8, 2, 16, 256).transpose(1, 2).reshape(256, 256).contiguous();
            Assert.Equal(expectedQ.data<float>().ToArray(), f.ReadTensor("blk.1.attn_q.weight"));
            using var k = model.Model.named_parameters().First(p => p.name == "model.layers.1.self_attn.k_proj.weight").parameter.detach();
            using var expectedK = k.reshape(4, 2, 16, 256).transpose(1, 2).reshape(128, 256).contiguous();
            Assert.Equal(expectedK.data<float>().ToArray(), f.ReadTensor("blk.1.attn_k.weight"));
        }

        var imported = GgufImport.Load(path);
        Assert.Equal(cfg.HiddenSize, imported.Config.HiddenSize);
        Assert.Equal(cfg.NumHeads, imported.Config.NumHeads);
        Assert.Equal(cfg.NumKvHeads, imported.Config.NumKvHeads);
        Assert.Equal(cfg.HeadDim, imported.Config.HeadDim);
        Assert.Equal(cfg.IntermediateSize, imported.Config.IntermediateSize);
        Assert.Equal(cfg.NumLayers, imported.Config.NumLayers);
        Assert.Equal(cfg.VocabSize, imported.Config.VocabSize);
        Assert.Equal(cfg.TieWordEmbeddings, imported.Config.TieWordEmbeddings);
        Assert.Equal(cfg.Rope.Theta, imported.Config.Rope.Theta);
        var parameters = model.Model.named_parameters().ToList();
        Assert.Equal(parameters.Count, imported.Tensors.Count);
        foreach (var (name, p) in parameters)
        {
            var t = imported.Tensors[name];
            Assert.Equal(p.shape, t.Shape);
            Assert.Equal(p.detach().data<float>().ToArray(), t.Values);
        }

        using var rebuilt = GgufImport.ToCausalLM(imported);
        using var ids = tensor(new long[] { 1, 17, 300, 42, 9 }).unsqueeze(0);
        using var _ = no_grad();
        using var a = model.Model.Forward(ids);
        using var b = rebuilt.Forward(ids);
        Assert.True(a.allclose(b, rtol: 0, atol: 1e-6));
    }

    [Theory]
    [InlineData(LlamaFileType.Q8_0, GgmlType.Q8_0, 7u)]
    [InlineData(LlamaFileType.F16, GgmlType.F16, 1u)]
    [InlineData(LlamaFileType.Q4_0, GgmlType.Q4_0, 2u)]
    public void TinyLlamaQuantizedExport(LlamaFileType ft, GgmlType type, uint fileType)
    {
        using var model = PretrainedModel.Load(TestData.TinyLlamaDir);
        var path = Path.Combine(Dir, $"tiny-{type}.gguf");
        GgufExport.Write(model, path, ft);
        using (var f = GgufFile.Open(path))
        {
            Assert.Equal(fileType, (uint)f.Metadata["general.file_type"].AsInt64());
            Assert.Equal(type, f.TensorsByName["blk.0.ffn_down.weight"].Type);
            Assert.Equal(GgmlType.F32, f.TensorsByName["blk.0.attn_norm.weight"].Type);
            Assert.Equal(GgmlType.F32, f.TensorsByName["output_norm.weight"].Type);
            // Stored bytes are the reference quantization of the (permuted) weight.
            using var down = model.Model.named_parameters().First(p => p.name == "model.layers.0.mlp.down_proj.weight").parameter.detach();
            Assert.Equal(GgmlCodec.Quantize(type, down.data<float>().ToArray()), f.ReadTensorBytes("blk.0.ffn_down.weight"));
        }
        var imported = GgufImport.Load(path);
        foreach (var (name, p) in model.Model.named_parameters())
        {
            var expected = p.detach().data<float>().ToArray();
            var actual = imported.Tensors[name].Values;
            double maxAbs = expected.Max(MathF.Abs);
            double err = expected.Zip(actual, (x, y) => Math.Abs(x - y)).Max();
            Assert.True(err <= maxAbs * 0.2 + 1e-6, $"{name}: max error {err} vs max |w| {maxAbs}");
        }
    }
}
