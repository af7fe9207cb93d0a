using QuantTune.Diagnostics;
using QuantTune.Models.Config;

namespace QuantTune.Tests.Models;

public sealed class ModelConfigTests
{
    const string Core = """
        "vocab_size": 100, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4
        """;

    static ModelConfig Parse(string body) => ModelConfig.Parse("{" + body + "}", "config.json");

    static InvalidFormatException Invalid(string body) =>
        Assert.IsType<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => Parse(body)));

    [Fact]
    public void FixturesParse()
    {
        var llama = ModelConfig.Load(TestData.TinyLlamaDir);
        Assert.Equal(("llama", 4, 8, 4, 32), (llama.ModelType, llama.NumLayers, llama.NumHeads, llama.NumKvHeads, llama.HeadDim));
        Assert.False(llama.TieWordEmbeddings);
        Assert.False(llama.QkvBias);
        Assert.Equal(10000.0, llama.Rope.Theta);
        var qwen = ModelConfig.Load(TestData.TinyQwen2Dir);
        Assert.True(qwen.TieWordEmbeddings);
        Assert.True(qwen.QkvBias);
        Assert.False(qwen.OutputBias);
        Assert.Equal(1e6, qwen.Rope.Theta);
        Assert.Null(qwen.SlidingWindow);
    }

    [Fact]
    public void NewerRopeParametersAndOlderTopLevelFormAgree()
    {
        var newer = Parse($$"""{{Core}}, "model_type": "llama", "rope_parameters": {"rope_theta": 500000.0, "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}""");
        var older = Parse($$"""{{Core}}, "model_type": "llama", "rope_theta": 500000.0, "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}""");
        Assert.Equal(newer.Rope, older.Rope);
        Assert.Equal(new RopeConfig(500000.0, "llama3", 8.0, 1.0, 4.0, 8192), newer.Rope);
    }

    [Fact]
    public void OldestRopeScalingFormWithTypeKeyParses()
    {
        var c = Parse($$"""{{Core}}, "model_type": "llama", "rope_theta": 10000.0, "rope_scaling": {"type": "linear", "factor": 2.0}""");
        Assert.Equal(("linear", 2.0), (c.Rope.Type, c.Rope.Factor));
        Assert.Equal(10000.0, Parse($$"""{{Core}}, "model_type": "llama", "rope_scaling": null""").Rope.Theta);
    }

    [Fact]
    public void GqaDefaultsAndBiases()
    {
        var c = Parse($$"""{{Core}}, "model_type": "llama", "attention_bias": true""");
        Assert.Equal(4, c.NumKvHeads);
        Assert.Equal(16, c.HeadDim);
        Assert.True(c.QkvBias && c.OutputBias);
        var m = Parse($$"""{{Core}}, "model_type": "mistral", "num_key_value_heads": 2, "sliding_window": 4096, "eos_token_id": [2, 7]""");
        Assert.Equal(2, m.KvGroups);
        Assert.Equal(4096, m.SlidingWindow);
        Assert.Equal([2, 7], m.EosTokenIds);
    }

    [Fact]
    public void UnknownModelTypeIsNamed()
    {
        var e = Invalid($$"""{{Core}}, "model_type": "bert" """);
        Assert.Equal("model_type", e.Field);
        Assert.Contains("'bert'", e.Message);
        Assert.Contains("llama", e.Message);
        Assert.StartsWith("config.json", e.Message);
    }

    [Theory]
    [InlineData("hidden_size")]
    [InlineData("num_hidden_layers")]
    [InlineData("vocab_size")]
    [InlineData("model_type")]
    public void MissingKeyIsNamed(string key)
    {
        var body = $$"""{{Core}}, "model_type": "llama" """;
        body = string.Join(",", body.Split(',').Where(kv => !kv.Contains($"\"{key}\"")));
        var e = Invalid(body);
        Assert.Equal(key, e.Field);
        Assert.Contains("is missing", e.Message);
    }

    [Fact]
    public void WrongTypesAndImpossibleShapesAreNamed()
    {
        Assert.Equal("hidden_size", Invalid($$"""{{Core.Replace("\"hidden_size\": 64", "\"hidden_size\": \"64\"")}}, "model_type": "llama" """).Field);
        Assert.Equal("num_key_value_heads", Invalid($$"""{{Core}}, "model_type": "llama", "num_key_value_heads": 3""").Field);
        Assert.Equal("rope_scaling.rope_type", Invalid($$"""{{Core}}, "model_type": "llama", "rope_scaling": {"rope_type": "dynamic", "factor": 4.0}""").Field);
        Assert.Equal("rope_parameters.factor", Invalid($$"""{{Core}}, "model_type": "llama", "rope_parameters": {"rope_type": "linear"}""").Field);
        Assert.Equal("hidden_act", Invalid($$"""{{Core}}, "model_type": "llama", "hidden_act": "relu6" """).Field);
    }

    [Fact]
    public void InvalidJsonIsReported()
    {
        var e = Assert.ThrowsAny<QuantTuneException>(() => ModelConfig.Parse("{ not json", "config.json"));
        Assert.Contains("not valid JSON", e.Message);
    }
}
