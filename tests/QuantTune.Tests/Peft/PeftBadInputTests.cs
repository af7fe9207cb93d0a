using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.Models.Loading;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using static TorchSharp.torch;

namespace QuantTune.Tests.Peft;

/// <summary>Broken adapters (edited copies of the PEFT fixture) and targets that select nothing.</summary>
public sealed class PeftBadInputTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), $"qt-peft-bad-{Guid.NewGuid():N}");
    readonly PretrainedModel _model = PretrainedModel.Load(TestData.TinyLlamaDir);

    public PeftBadInputTests()
    {
        Directory.CreateDirectory(_dir);
        foreach (var f in new[] { AdapterConfig.FileName, AdapterIO.WeightsFile })
            File.Copy(Path.Combine(TestData.TinyLlamaLoraDir, f), Path.Combine(_dir, f));
    }

    void EditConfig(Action<JsonObject> edit)
    {
        var path = Path.Combine(_dir, AdapterConfig.FileName);
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
    }

    void EditWeights(Action<Dictionary<string, Tensor>> edit)
    {
        var path = Path.Combine(_dir, AdapterIO.WeightsFile);
        var tensors = new Dictionary<string, Tensor>();
        using (var file = SafetensorsFile.Open(path))
            foreach (var key in file.Tensors.Keys) tensors[key] = file.ToTensor(key);
        edit(tensors);
        SafetensorsWriter.Write(path, tensors);
    }

    QuantTuneException LoadFails()
    {
        var e = Assert.ThrowsAny<QuantTuneException>(() => AdapterIO.Load(_model.Model, _dir));
        Assert.Empty(LoraModel.Layers(_model.Model));
        return e;
    }

    [Fact]
    public void RankInTheConfigThatDoesNotFitTheTensorsNamesKeyAndShapes()
    {
        EditConfig(c => c["r"] = 4);
        var e = LoadFails();
        Assert.Matches(@"base_model\.model\.model\.layers\.\d\.\S+\.lora_[AB]\.weight", e.Message);
        Assert.Contains("r=4", e.Message);
        Assert.Matches(@"has shape \[(8, \d+|\d+, 8)\]; expected \[(4, \d+|\d+, 4)\]", e.Message);
        // The number came from adapter_config.json: the message names that file by its full path (a fuzz finding).
        Assert.Contains($"r=4 in {Path.Combine(_dir, AdapterConfig.FileName)}", e.Message);
    }

    [Fact]
    public void TargetModuleTheModelLacksIsReportedAgainstTheConfigAndField()
    {
        EditConfig(c => c["target_modules"] = new JsonArray("q_proj", "v_proX"));
        var e = Assert.IsType<InvalidFormatException>(LoadFails());
        Assert.Equal(Path.Combine(_dir, AdapterConfig.FileName), e.File);
        Assert.Equal("target_modules", e.Field);
        Assert.Contains("'v_proX'", e.Message);
    }

    [Fact]
    public void TensorOfTheWrongShapeNamesKeyAndBothShapes()
    {
        const string key = "base_model.model.model.layers.2.self_attn.k_proj.lora_A.weight";
        EditWeights(t => t[key] = zeros(8, 100));
        var e = LoadFails();
        Assert.Contains(key, e.Message);
        Assert.Contains("has shape [8, 100]; expected [8, 256]", e.Message);
        Assert.Contains(AdapterIO.WeightsFile, e.Message);
    }

    [Fact]
    public void KeyForAModuleTheModelDoesNotHaveIsNamed()
    {
        EditWeights(t => t["base_model.model.model.layers.9.self_attn.q_proj.lora_A.weight"] = zeros(8, 256));
        var e = LoadFails();
        Assert.Contains("model.layers.9.self_attn.q_proj", e.Message);
        Assert.Contains("does not have", e.Message);
    }

    [Fact]
    public void MissingWeightsFileIsNamed()
    {
        File.Delete(Path.Combine(_dir, AdapterIO.WeightsFile));
        var e = LoadFails();
        Assert.Contains(AdapterIO.WeightsFile, e.Message);
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void MissingTensorIsNamed()
    {
        EditWeights(t => t.Remove("base_model.model.model.layers.1.mlp.up_proj.lora_B.weight"));
        var e = LoadFails();
        Assert.Contains("layers.1.mlp.up_proj.lora_B.weight", e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void OtherPeftTypeIsRefusedAsNotSupported()
    {
        EditConfig(c => c["peft_type"] = "PREFIX_TUNING");
        var e = LoadFails();
        Assert.IsType<InvalidFormatException>(e);
        Assert.Contains("PREFIX_TUNING", e.Message);
        Assert.Contains("not supported", e.Message);
        Assert.Contains("peft_type", e.Message);
    }

    [Fact]
    public void UnsupportedOptionIsRefusedByName()
    {
        EditConfig(c => c["modules_to_save"] = new JsonArray("lm_head"));
        Assert.Contains("modules_to_save", LoadFails().Message);
    }

    [Fact]
    public void TargetThatMatchesNothingIsNamedWithTheLayersAvailable()
    {
        var e = Assert.Throws<QuantTuneException>(() =>
            LoraModel.Apply(_model.Model, new LoraConfig { TargetModules = PeftTargets.FromNames("q_proj", "query_key_value") }));
        Assert.Contains("'query_key_value'", e.Message);
        Assert.Contains("q_proj", e.Message);
        Assert.Contains("gate_proj", e.Message);
        Assert.Empty(LoraModel.Layers(_model.Model));

        var p = Assert.Throws<QuantTuneException>(() => LoraModel.Apply(_model.Model, new LoraConfig { TargetModules = PeftTargets.FromPattern("q_proj") }));
        Assert.Contains("\"q_proj\"", p.Message);
        Assert.Contains("whole path", p.Message);
    }

    [Fact]
    public void AdapterConfigTargetThatMatchesNothingIsNamed()
    {
        EditConfig(c => c["target_modules"] = new JsonArray("q_proj", "qkv_proj"));
        Assert.Contains("'qkv_proj'", LoadFails().Message);
    }

    public void Dispose()
    {
        _model.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
