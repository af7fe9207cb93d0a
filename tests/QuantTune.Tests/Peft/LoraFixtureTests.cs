using System.Text.Json;
using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.Models.Loading;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Peft;

/// <summary>
/// The adapter Python PEFT 0.21 saved for tiny-llama (fixtures/tiny-llama-lora): its logits
/// with the adapter (unmerged, and after merge_and_unload) were computed by PEFT in fp32.
/// </summary>
public sealed class LoraFixtureTests(ITestOutputHelper output) : IDisposable
{
    const double Tolerance = 1e-4;
    readonly SafetensorsFile _reference = SafetensorsFile.Open(Path.Combine(TestData.TinyLlamaLoraDir, "reference.safetensors"));
    readonly string _temp = Path.Combine(Path.GetTempPath(), $"qt-peft-{Guid.NewGuid():N}");

    Tensor Logits(PretrainedModel m)
    {
        using var _ = inference_mode();
        return m.Model.Forward(_reference.ToTensor("input_ids.0").unsqueeze(0))[0];
    }

    [Fact]
    public void PeftAdapterReproducesPeftLogitsUnmergedAndMerged()
    {
        using var scope = NewDisposeScope();
        using var model = PretrainedModel.Load(TestData.TinyLlamaDir);
        var config = AdapterIO.Load(model.Model, TestData.TinyLlamaLoraDir);
        Assert.Equal(8, config.R);
        Assert.Equal(28, LoraModel.Layers(model.Model).Count);

        double unmerged = (Logits(model) - _reference.ToTensor("logits.0")).abs().max().item<float>();
        output.WriteLine($"unmerged: max |logits - PEFT| = {unmerged:E2}");
        Assert.True(unmerged <= Tolerance, $"unmerged logits differ by {unmerged}");

        var merged = LoraModel.Merge(model.Model);
        Assert.Equal(28, merged.Count);
        Assert.Empty(LoraModel.Layers(model.Model));
        Assert.DoesNotContain(model.Model.named_parameters(), p => p.name.Contains("lora") || p.name.Contains("base_layer"));
        double mergedError = (Logits(model) - _reference.ToTensor("logits_merged.0")).abs().max().item<float>();
        output.WriteLine($"merged: max |logits - PEFT merge_and_unload| = {mergedError:E2}");
        Assert.True(mergedError <= Tolerance, $"merged logits differ by {mergedError}");
    }

    [Fact]
    public void SavedAdapterReloadsToIdenticalLogitsWithPeftKeysAndConfig()
    {
        using var scope = NewDisposeScope();
        Tensor before;
        using (var model = PretrainedModel.Load(TestData.TinyLlamaDir))
        {
            var config = AdapterIO.Load(model.Model, TestData.TinyLlamaLoraDir);
            before = Logits(model);
            AdapterIO.Save(model.Model, config, _temp);
        }
        using (var fixture = SafetensorsFile.Open(Path.Combine(TestData.TinyLlamaLoraDir, AdapterIO.WeightsFile)))
        using (var saved = SafetensorsFile.Open(Path.Combine(_temp, AdapterIO.WeightsFile)))
        {
            Assert.Equal(fixture.Tensors.Keys.Order(StringComparer.Ordinal), saved.Tensors.Keys.Order(StringComparer.Ordinal));
            foreach (var key in fixture.Tensors.Keys)
                Assert.True(fixture.GetBytes(key).SequenceEqual(saved.GetBytes(key)), $"{key} differs");
        }
        using var fixtureConfig = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestData.TinyLlamaLoraDir, AdapterConfig.FileName)));
        using var savedConfig = JsonDocument.Parse(File.ReadAllText(Path.Combine(_temp, AdapterConfig.FileName)));
        Assert.True(JsonElement.DeepEquals(fixtureConfig.RootElement, savedConfig.RootElement), File.ReadAllText(Path.Combine(_temp, AdapterConfig.FileName)));

        using var reloaded = PretrainedModel.Load(TestData.TinyLlamaDir);
        AdapterIO.Load(reloaded.Model, _temp);
        Assert.True(Logits(reloaded).equal(before).all().item<bool>(), "logits after save and reload differ");
    }

    [Fact]
    public void NewAdapterIsSavedWithPeftKeyNamesAndLayout()
    {
        using var scope = NewDisposeScope();
        using var model = PretrainedModel.Load(TestData.TinyLlamaDir);
        var config = new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = PeftTargets.FromNames("q_proj", "v_proj"), BaseModelNameOrPath = "tiny-llama" };
        LoraModel.Apply(model.Model, config, seed: 1);
        AdapterIO.Save(model.Model, config, _temp);
        using var saved = SafetensorsFile.Open(Path.Combine(_temp, AdapterIO.WeightsFile));
        Assert.Equal(16, saved.Tensors.Count);
        Assert.Equal([4, 256], saved.Info("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").Shape);
        Assert.Equal([128, 4], saved.Info("base_model.model.model.layers.3.self_attn.v_proj.lora_B.weight").Shape);
        Assert.Equal("pt", saved.Metadata["format"]);

        // Same layout as the file PEFT 0.21 wrote: the same field names (PEFT also writes peft_version).
        using var fixtureConfig = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestData.TinyLlamaLoraDir, AdapterConfig.FileName)));
        using var savedConfig = JsonDocument.Parse(File.ReadAllText(Path.Combine(_temp, AdapterConfig.FileName)));
        var expectedFields = fixtureConfig.RootElement.EnumerateObject().Select(p => p.Name).Where(n => n != "peft_version");
        Assert.Equal(expectedFields, savedConfig.RootElement.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public void DoraAdapterRoundTripsWithItsMagnitudeVectorAndMergesToTheSameLogits()
    {
        using var scope = NewDisposeScope();
        var config = new LoraConfig { R = 4, LoraAlpha = 8, UseDora = true, TargetModules = PeftTargets.FromNames("v_proj", "down_proj") };
        Tensor before;
        using (var model = PretrainedModel.Load(TestData.TinyLlamaDir))
        {
            LoraModel.Apply(model.Model, config, seed: 5);
            using (no_grad())
                foreach (var (_, lora) in LoraModel.Layers(model.Model))
                {
                    lora.lora_B.weight.normal_(0, 0.05);
                    lora.lora_magnitude_vector!.mul_(1.1);
                }
            before = Logits(model);
            AdapterIO.Save(model.Model, config, _temp);
        }
        using (var saved = SafetensorsFile.Open(Path.Combine(_temp, AdapterIO.WeightsFile)))
        {
            Assert.Equal(24, saved.Tensors.Count);
            Assert.Equal([256], saved.Info("base_model.model.model.layers.0.mlp.down_proj.lora_magnitude_vector").Shape);
        }
        using var reloaded = PretrainedModel.Load(TestData.TinyLlamaDir);
        Assert.True(AdapterIO.Load(reloaded.Model, _temp).UseDora);
        Assert.True(Logits(reloaded).equal(before).all().item<bool>(), "DoRA logits after save and reload differ");
        LoraModel.Merge(reloaded.Model);
        double error = (Logits(reloaded) - before).abs().max().item<float>();
        output.WriteLine($"DoRA merged vs unmerged: max |Δlogits| = {error:E2}");
        Assert.True(error <= 1e-4, $"merged DoRA logits differ by {error}");
    }

    /// <summary>The source's config.json names a dtype QuantTune cannot store: the error names that file and field, not --dtype.</summary>
    [Fact]
    public void AnUnknownTorchDTypeInTheSourceConfigNamesTheFileAndField()
    {
        var source = Path.Combine(_temp, "source");
        Directory.CreateDirectory(source);
        foreach (var f in Directory.GetFiles(TestData.TinyLlamaDir)) File.Copy(f, Path.Combine(source, Path.GetFileName(f)));
        var configFile = Path.Combine(source, "config.json");
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(configFile))!.AsObject();
        config["torch_dtype"] = "float8_e4m3";
        File.WriteAllText(configFile, config.ToJsonString());
        using var model = PretrainedModel.Load(TestData.TinyLlamaDir);
        var outDir = Path.Combine(_temp, "merged-bad-dtype");
        var e = Assert.IsType<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => PlainCheckpoint.SaveCheckpoint(model.Model, source, outDir)));
        Assert.Equal(configFile, e.File);
        Assert.Equal("torch_dtype", e.Field);
        Assert.DoesNotContain("--dtype", e.Message);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void MergedModelSavesAsAPlainCheckpointThatLoadsToTheMergedLogits()
    {
        using var scope = NewDisposeScope();
        using var model = PretrainedModel.Load(TestData.TinyLlamaDir);
        AdapterIO.Load(model.Model, TestData.TinyLlamaLoraDir);
        LoraModel.Merge(model.Model);
        var merged = Logits(model);
        var outDir = Path.Combine(_temp, "merged");
        PlainCheckpoint.SaveCheckpoint(model.Model, TestData.TinyLlamaDir, outDir);
        Assert.True(File.Exists(Path.Combine(outDir, "tokenizer.json")));
        using var reloaded = PretrainedModel.Load(outDir);
        Assert.Empty(reloaded.UnusedKeys);
        using (var st = SafetensorsFile.Open(Path.Combine(outDir, "model.safetensors")))
            Assert.All(st.Tensors.Values, t => Assert.Equal(SafetensorsDType.BF16, t.DType));
        // Stored in bf16 as the source was: the logits move by bf16 rounding of the merged weights only.
        double error = (Logits(reloaded) - merged).abs().max().item<float>();
        output.WriteLine($"merged, saved as bf16 and reloaded: max |Δlogits| = {error:E2}");
        Assert.True(error < 0.25, $"reloaded merged checkpoint differs by {error}");
    }

    public void Dispose()
    {
        _reference.Dispose();
        if (Directory.Exists(_temp)) Directory.Delete(_temp, recursive: true);
    }
}
