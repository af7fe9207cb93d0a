using QuantTune.Models.Config;
using QuantTune.Models.Transformer;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models.Qwen35;

/// <summary>
/// A Qwen3.5 decoder with the KV cache (softmax layers) and the linear-attention state (Gated
/// DeltaNet layers): a prompt prefilled in pieces and then decoded token by token gives the logits
/// of one pass over the whole sequence, including when the last layer is a linear one (the cache's
/// length is then read from that layer's state).
/// </summary>
public sealed class Qwen35CacheTests
{
    internal const string Config = """
        {"model_type":"qwen3_5_text","vocab_size":512,"hidden_size":64,"intermediate_size":96,"num_hidden_layers":4,
         "num_attention_heads":4,"num_key_value_heads":2,"head_dim":32,"linear_num_key_heads":2,"linear_num_value_heads":4,
         "linear_key_head_dim":16,"linear_value_head_dim":24,"linear_conv_kernel_dim":4,
         "layer_types":["linear_attention","full_attention","linear_attention","linear_attention"],
         "rope_parameters":{"rope_type":"default","rope_theta":10000000,"partial_rotary_factor":0.25}}
        """;

    [Theory]
    [InlineData(new long[] { 70 })]
    [InlineData(new long[] { 5, 64, 1 })]
    public void PrefillInPiecesThenDecodingGivesTheWholePassLogits(long[] pieces)
    {
        using var scope = NewDisposeScope();
        var config = ModelConfig.Parse(Config);
        using var model = new CausalLM(config, ScalarType.Float32, CPU);
        WeightInit.Initialize(model, seed: 3, std: 0.2);
        using var generator = new Generator(5);
        var ids = randint(0, 512, [1, 80], dtype: ScalarType.Int64, generator: generator);
        using var _ = inference_mode();
        var whole = model.Forward(ids);
        using var cache = new KvCache(config.NumLayers);
        long at = 0;
        var parts = new List<Tensor>();
        foreach (long n in pieces.Concat(Enumerable.Repeat(1L, (int)(80 - pieces.Sum()))))
        {
            parts.Add(model.Forward(ids.narrow(1, at, n), cache));
            at += n;
            Assert.Equal(at, cache.Length);
        }
        double error = (cat(parts, 1) - whole).abs().max().item<float>();
        Assert.True(error < 1e-4, $"cached logits differ by {error}");
    }
}
