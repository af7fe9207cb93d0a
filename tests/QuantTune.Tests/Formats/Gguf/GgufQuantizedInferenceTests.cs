using QuantTune.Formats.Gguf;
using QuantTune.Generation;
using QuantTune.Models.Loading;
using QuantTune.Quantization.Layers;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary>
/// tiny-llama exported as GGUF and loaded for inference twice: dequantized (as before) and with the kernel-typed linears
/// kept on their blocks (<see cref="GgufLinear"/>). Both compute with the same weights; the kept one quantizes each
/// linear's input to 8 bits, so logits move by a small fraction of their spread and greedy decoding picks the same tokens.
/// </summary>
public sealed class GgufQuantizedInferenceTests(ITestOutputHelper output) : TempFolderTest("qt-gguf-kernels-")
{
    [Theory]
    // Q4_K_M: Q4_K and Q6_K linears (and Q8_0 ffn_down on layers 2-3, q/k with their rows moved); Q5_0 ffn_down stays dense.
    [InlineData(LlamaFileType.Q4_K_M, new[] { GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.Q8_0 })]
    [InlineData(LlamaFileType.Q5_K_M, new[] { GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q8_0 })]
    [InlineData(LlamaFileType.Q4_0, new[] { GgmlType.Q4_0 })]
    [InlineData(LlamaFileType.Q8_0, new[] { GgmlType.Q8_0 })]
    public void KeptBlocksGiveTheDequantizedModelsLogitsAndGreedyTokens(LlamaFileType fileType, GgmlType[] kernelTypes)
    {
        string path = Path.Combine(Dir, $"tiny-{fileType}.gguf");
        using (var source = PretrainedModel.Load(TestData.TinyLlamaDir)) GgufExport.Write(source, path, fileType);
        using var dense = PretrainedModel.Load(path);
        using var kept = PretrainedModel.Load(path, keepGgufBlocks: true);

        var layers = kept.Model.modules().OfType<GgufLinear>().ToList();
        Assert.Equal(kernelTypes.Order(), layers.Select(l => l.Type).Distinct().Order());
        Assert.Empty(dense.Model.modules().OfType<GgufLinear>());
        // The head (output.weight: Q6_K, or Q8_0 in a Q8_0 file) runs on its blocks too.
        Assert.IsType<GgufLinear>(kept.Model.HeadOnBlocks);
        Assert.Null(dense.Model.HeadOnBlocks);
        // The embedding table too: its rows are dequantized as they are gathered.
        Assert.IsType<GgufEmbedding>(kept.Model.model.embed_tokens);
        // tiny-llama's head is not tied: its float weight is only a placeholder now.
        Assert.Equal(TorchSharp.DeviceType.META, kept.Model.lm_head!.weight.device_type);
        // The kept layers hold no float weight: the model's parameters are fewer by their elements.
        long keptElements = layers.Sum(l => l.InFeatures * l.OutFeatures);
        Assert.Equal(Parameters(dense) - keptElements, Parameters(kept));

        var ids = kept.Tokenizer.Encode("The quick brown fox jumps over the lazy dog. Once upon a time");
        using (no_grad())
        {
            using var input = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Count]);
            using var a = dense.Model.Forward(input);
            using var b = kept.Model.Forward(input);
            double spread = a.std().item<float>();
            double worst = (a - b).abs().max().item<float>();
            output.WriteLine($"{fileType}: {layers.Count} GgufLinear layers; logits differ by at most {worst:g3} (std {spread:g3})");
            Assert.True(worst <= 0.1 * spread, $"{fileType}: logits on the blocks are {worst:g3} off the dequantized model's (std {spread:g3})");
        }

        var greedy = new SamplingOptions { MaxNewTokens = 12 };
        var want = TextGenerator.Generate(dense.Model, ids, greedy).ToList();
        var got = TextGenerator.Generate(kept.Model, ids, greedy).ToList();
        Assert.Equal(want, got);
    }

    [Fact]
    public void KeptBlocksRunInABFloat16Model()
    {
        string path = Path.Combine(Dir, "tiny-bf16.gguf");
        using (var source = PretrainedModel.Load(TestData.TinyLlamaDir)) GgufExport.Write(source, path, LlamaFileType.Q8_0);
        using var dense = PretrainedModel.Load(path, ScalarType.BFloat16);
        using var kept = PretrainedModel.Load(path, ScalarType.BFloat16, keepGgufBlocks: true);
        Assert.NotEmpty(kept.Model.modules().OfType<GgufLinear>());
        var ids = kept.Tokenizer.Encode("Once upon a time there was");
        using (no_grad())
        {
            using var input = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Count]);
            using var a = dense.Model.Forward(input).to_type(ScalarType.Float32);
            using var b = kept.Model.Forward(input);
            Assert.Equal(ScalarType.BFloat16, b.dtype);
            double spread = a.std().item<float>();
            double worst = (a - b.to_type(ScalarType.Float32)).abs().max().item<float>();
            // bf16 rounds every activation to 8 bits of mantissa on both sides; the kept model adds its 8-bit activation quantization.
            Assert.True(worst <= 0.2 * spread, $"bf16: logits on the blocks are {worst:g3} off the dequantized model's (std {spread:g3})");
        }
    }

    [Fact]
    public void WithoutKeepingBlocksTheModelIsDequantizedAsBefore()
    {
        string path = Path.Combine(Dir, "tiny-q4km.gguf");
        using (var source = PretrainedModel.Load(TestData.TinyLlamaDir)) GgufExport.Write(source, path, LlamaFileType.Q4_K_M);
        var checkpoint = GgufImport.Load(path);
        Assert.Empty(checkpoint.Blocks);
        var keeping = GgufImport.Load(path, keepBlocks: true);
        // Types without a kernel (Q5_0) are read as floats; Llama's q/k keep their blocks, rows moved back to HF order.
        Assert.Contains("model.layers.0.mlp.down_proj.weight", keeping.Tensors.Keys);
        Assert.Contains("model.layers.0.self_attn.v_proj.weight", keeping.Blocks.Keys);
        var q = keeping.Blocks["model.layers.0.self_attn.q_proj.weight"];
        var dequantized = GgmlCodec.Dequantize(q.Type, q.Bytes, (int)(q.Shape[0] * q.Shape[1]));
        Assert.Equal(checkpoint.Tensors["model.layers.0.self_attn.q_proj.weight"].Values, dequantized);
    }

    static long Parameters(PretrainedModel m) => m.Model.parameters().Sum(p => p.numel());
}
