using QuantTune.Diagnostics;
using QuantTune.Quantization.Gptq;
using static TorchSharp.torch;

namespace QuantTune.Tests.Quantization.Gptq;

/// <summary>Malformed GPTQ input fails with a <see cref="QuantTuneException"/> naming what is wrong, never with a crash or a silent misreading.</summary>
public sealed class GptqBadInputTests() : TempFolderTest("quanttune-gptq-bad-")
{
    string WriteConfig(string quantizationConfig)
    {
        File.WriteAllText(Path.Combine(Dir, "config.json"), $$"""{"model_type": "llama", "quantization_config": {{quantizationConfig}}}""");
        return Dir;
    }

    [Theory]
    [InlineData("""{"quant_method": 5, "bits": 4, "group_size": 128}""", "quantization_config.quant_method")]
    [InlineData("""{"quant_method": "gptq", "bits": 4, "group_size": 128, "checkpoint_format": 2}""", "quantization_config.checkpoint_format")]
    [InlineData("""{"quant_method": "gptq", "bits": 4, "group_size": 0}""", "quantization_config.group_size")]
    [InlineData("""{"quant_method": "gptq", "bits": 4, "group_size": -2}""", "quantization_config.group_size")]
    [InlineData("""{"quant_method": "gptq", "bits": 4, "group_size": 128, "desc_act": "yes"}""", "quantization_config.desc_act")]
    [InlineData("""{"quant_method": "gptq", "bits": 9, "group_size": 128}""", "quantization_config.bits")]
    [InlineData("""{"quant_method": "gptq", "group_size": 128}""", "quantization_config.bits")]
    public void AMalformedQuantizationConfigNamesItsField(string quantizationConfig, string field)
    {
        var e = Assert.IsType<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => GptqCheckpoint.ReadLayout(WriteConfig(quantizationConfig))));
        Assert.Equal(field, e.Field);
        Assert.StartsWith(Path.Combine(Dir, "config.json"), e.Message);
    }

    [Theory]
    [InlineData("""{"quant_method": 5}""")]
    [InlineData("""{"quant_method": "bitsandbytes", "load_in_4bit": "yes"}""")]
    public void IsQuantizedNamesAMistypedQuantizationField(string quantizationConfig)
    {
        var e = Assert.IsType<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(
            () => QuantTune.Quantization.Models.QuantizedCheckpoint.IsQuantized(WriteConfig(quantizationConfig))));
        Assert.StartsWith("quantization_config.", e.Field);
    }

    [Fact]
    public void AConfigThatIsNotJsonIsAFormatError()
    {
        File.WriteAllText(Path.Combine(Dir, "config.json"), "{\"quantization_config\": ");
        Assert.IsType<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => GptqCheckpoint.ReadLayout(Dir)));
    }

    [Fact]
    public void AWellFormedConfigReadsAsWritten()
    {
        var layout = GptqCheckpoint.ReadLayout(WriteConfig("""{"quant_method": "gptq", "bits": 3, "group_size": -1, "desc_act": true, "sym": false, "checkpoint_format": "gptq_v2"}"""));
        Assert.Equal(new GptqLayout(3, -1, true, false, 0), layout);
        Assert.Null(GptqCheckpoint.ReadLayout(WriteConfig("""{"quant_method": "awq", "bits": 4}""")));
    }

    [Fact]
    public void InputsOfTheWrongWidthAreRefusedRatherThanReshaped()
    {
        using var accumulator = new HessianAccumulator(16);
        // 32 values of width 8 would reshape silently into 2 tokens of width 16.
        using var x = randn(4, 8);
        var e = Assert.Throws<QuantTuneException>(() => accumulator.Add(x));
        Assert.Contains("16", e.Message);
        Assert.Equal(0, accumulator.Tokens);
    }
}
