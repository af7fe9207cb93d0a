using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Transformer;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models;

public sealed class ModelDimensionLimitsTests
{
    static string Config(string hidden, string layers = "4", string heads = "8") =>
        $"{{\"model_type\":\"llama\",\"vocab_size\":4096,\"hidden_size\":{hidden},\"intermediate_size\":704,\"num_hidden_layers\":{layers},\"num_attention_heads\":{heads},\"head_dim\":32}}";

    [Theory]
    [InlineData("2000000000", "4", "8", "hidden_size")]
    [InlineData("256", "2000000000", "8", "num_hidden_layers")]
    [InlineData("256", "4", "0", "num_attention_heads")]
    public void AHugeOrZeroDimensionIsRefusedByNameBeforeAnyAllocation(string hidden, string layers, string heads, string field)
    {
        var e = Assert.IsType<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => ModelConfig.Parse(Config(hidden, layers, heads), "/m/config.json")));
        Assert.Equal("/m/config.json", e.File);
        Assert.Equal(field, e.Field);
    }

    [Fact]
    public void TheParameterCountFromTheConfigIsTheBuiltModels()
    {
        foreach (var dir in new[] { TestData.TinyLlamaDir, TestData.TinyQwen2Dir, TestData.TinyQwen3Dir, TestData.TinyQwen3MoeDir, TestData.TinyQwen2MoeDir, TestData.TinyMixtralDir, TestData.TinyGraniteDir, TestData.TinyStableLmDir })
        {
            var config = ModelConfig.Load(dir);
            using var model = new CausalLM(config, ScalarType.Float32, CPU);
            Assert.Equal(model.ParameterCount(), ModelDimensionLimits.ParameterCount(config));
        }
    }
}
