using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Models.Loading;
using QuantTune.Peft.BitFit;
using QuantTune.Peft.Bottleneck;
using QuantTune.Peft.Common;
using QuantTune.Peft.Ia3;
using QuantTune.Peft.PromptTuning;

namespace QuantTune.Tests.Peft;

/// <summary>
/// A saved IA3, BitFit, bottleneck or prompt-tuning adapter whose adapter_config.json is edited so
/// that it no longer fits the model or its own weights: the error names adapter_config.json by its
/// full path and the field, and a size too large for the weights is refused before it sizes an
/// allocation (the class the peft-adapter fuzz target found for LoRA).
/// </summary>
public sealed class PeftConfigErrorTests : IDisposable
{
    readonly PeftTestSupport.TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    string Config => Path.Combine(_tmp.Path, PeftFiles.ConfigFile);

    void Edit(string field, JsonNode? value)
    {
        var json = JsonNode.Parse(File.ReadAllText(Config))!.AsObject();
        json[field] = value;
        File.WriteAllText(Config, json.ToJsonString());
    }

    InvalidFormatException LoadFails(Action<QuantTune.Models.Transformer.CausalLM> load)
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        return Assert.IsType<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => load(pm.Model)));
    }

    void Saved(Action<QuantTune.Models.Transformer.CausalLM> applyAndSave)
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        applyAndSave(pm.Model);
    }

    [Fact]
    public void Ia3TargetModuleTheModelLacksNamesTheConfigAndField()
    {
        Saved(m => { var c = new Ia3Config(); Ia3Model.Apply(m, c); Ia3Model.Save(m, c, _tmp.Path); });
        Edit("target_modules", new JsonArray("k_proj", "v_proX", "down_proj"));
        var e = LoadFails(m => Ia3Model.Load(m, _tmp.Path));
        Assert.Equal(Config, e.File);
        Assert.Equal("target_modules", e.Field);
        Assert.Contains("'v_proX'", e.Message);
    }

    [Fact]
    public void BitFitTargetModuleTheModelLacksNamesTheConfigAndField()
    {
        Saved(m => { var c = new BitFitConfig { TargetModules = ["q_proj"] }; BitFitModel.Apply(m, c); BitFitModel.Save(m, c, _tmp.Path); });
        Edit("target_modules", new JsonArray("q_projection"));
        var e = LoadFails(m => BitFitModel.Load(m, _tmp.Path));
        Assert.Equal(Config, e.File);
        Assert.Equal("target_modules", e.Field);
    }

    [Theory]
    [InlineData(0, "at least 1")]
    [InlineData(int.MaxValue, "holds")]
    [InlineData(4, "describes expects")]
    public void BottleneckSizeThatDoesNotFitIsReportedByField(int size, string problem)
    {
        Saved(m => { var c = new BottleneckConfig { BottleneckSize = 8 }; BottleneckModel.Apply(m, c, seed: 0); BottleneckModel.Save(m, c, _tmp.Path); });
        Edit("bottleneck", size);
        var e = LoadFails(m => BottleneckModel.Load(m, _tmp.Path));
        Assert.Contains(problem, e.Message);
        Assert.Contains(Config, e.Message);
        if (size != 4) Assert.Equal("bottleneck", e.Field);
    }

    [Fact]
    public void VirtualTokensBeyondTheWeightsAreRefusedBeforeAllocating()
    {
        Saved(m =>
        {
            var c = new PromptTuningConfig { NumVirtualTokens = 4, Init = PromptTuningInit.Random };
            PromptTuningModel.Save(PromptTuningModel.Apply(m, c, seed: 0), c, _tmp.Path);
        });
        Edit("num_virtual_tokens", int.MaxValue);
        var e = LoadFails(m => PromptTuningModel.Load(m, _tmp.Path));
        Assert.Equal(Config, e.File);
        Assert.Equal("num_virtual_tokens", e.Field);
    }
}
