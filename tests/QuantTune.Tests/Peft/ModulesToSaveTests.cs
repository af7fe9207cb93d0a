using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.Models.Loading;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using static TorchSharp.torch;

namespace QuantTune.Tests.Peft;

/// <summary>
/// PEFT's <c>modules_to_save</c> as its <c>get_peft_model_state_dict</c> writes them: the whole
/// module's weight under <c>base_model.model.&lt;path&gt;.weight</c> (the wrapper's adapter name
/// removed), next to the LoRA pairs.
/// </summary>
public sealed class ModulesToSaveTests() : TempFolderTest("qt-mts-")
{
    /// <summary>A LoRA adapter folder plus the embedding and LM head saved whole, as PEFT lays it out.</summary>
    /// <remarks>The same LoRA pairs without the modules are left in <c>&lt;folder&gt;-lora</c>.</remarks>
    string PeftFolder(string modelDir, string[] modules, long rows, out Tensor embedding, out Tensor? head)
    {
        var folder = Path.Combine(Dir, "adapter-" + string.Join("-", modules));
        using (var pm = PretrainedModel.Load(modelDir))
        {
            var config = new LoraConfig { R = 4, LoraAlpha = 8, InitLoraWeights = false };
            LoraModel.Apply(pm.Model, config, seed: 5);
            AdapterIO.Save(pm.Model, config, folder + "-lora");
        }
        Directory.CreateDirectory(folder);
        foreach (var f in Directory.GetFiles(folder + "-lora")) File.Copy(f, Path.Combine(folder, Path.GetFileName(f)));
        long hidden = QuantTune.Models.Config.ModelConfig.Load(modelDir).HiddenSize;
        using var g = new Generator(11);
        embedding = randn([rows, hidden], generator: g);
        head = modules.Contains("lm_head") ? randn([rows, hidden], generator: g) : null;
        var weights = Path.Combine(folder, AdapterIO.WeightsFile);
        var entries = new List<KeyValuePair<string, Tensor>>();
        using (var file = SafetensorsFile.Open(weights))
            foreach (var key in file.Tensors.Keys) entries.Add(new(key, file.ToTensor(key)));
        if (modules.Contains("embed_tokens")) entries.Add(new("base_model.model.model.embed_tokens.weight", embedding));
        if (head is not null) entries.Add(new("base_model.model.lm_head.weight", head));
        SafetensorsWriter.Write(weights, entries.OrderBy(e => e.Key, StringComparer.Ordinal), new Dictionary<string, string> { ["format"] = "pt" });
        var configFile = Path.Combine(folder, AdapterConfig.FileName);
        var json = JsonNode.Parse(File.ReadAllText(configFile))!.AsObject();
        json["modules_to_save"] = new JsonArray(modules.Select(m => (JsonNode?)m).ToArray());
        File.WriteAllText(configFile, json.ToJsonString());
        return folder;
    }

    [Fact]
    public void TheSavedEmbeddingAndHeadReplaceTheModelsAndSaveBackUnderTheSameKeys()
    {
        var folder = PeftFolder(TestData.TinyLlamaDir, ["embed_tokens", "lm_head"], 4096, out var embedding, out var head);
        using var scope = NewDisposeScope();
        var ids = randint(0, 4096, [1, 10], dtype: ScalarType.Int64);

        using var loaded = PretrainedModel.Load(TestData.TinyLlamaDir);
        var config = AdapterIO.Load(loaded.Model, folder);
        Assert.Equal(["embed_tokens", "lm_head"], config.ModulesToSave!);
        Assert.False(loaded.Model.model.embed_tokens.weight.requires_grad);

        // Independently: the same LoRA adapter alone, with the two tables copied in by hand.
        using var expected = PretrainedModel.Load(TestData.TinyLlamaDir);
        var plain = Path.Combine(Dir, "plain");
        AdapterIO.Load(expected.Model, folder + "-lora");
        using (no_grad())
        {
            expected.Model.model.embed_tokens.weight.copy_(embedding);
            expected.Model.lm_head!.weight.copy_(head!);
        }
        using (no_grad())
            Assert.True((loaded.Model.Forward(ids) - expected.Model.Forward(ids)).abs().max().item<float>() == 0);
        using (var fresh = PretrainedModel.Load(TestData.TinyLlamaDir))
        using (no_grad())
            Assert.True((fresh.Model.Forward(ids) - loaded.Model.Forward(ids)).abs().max().item<float>() > 1e-3, "the saved tables changed nothing");

        AdapterIO.Save(loaded.Model, config, plain);
        using var back = SafetensorsFile.Open(Path.Combine(plain, AdapterIO.WeightsFile));
        Assert.True(back.ToTensor("base_model.model.model.embed_tokens.weight").equal(embedding).all().item<bool>());
        Assert.True(back.ToTensor("base_model.model.lm_head.weight").equal(head!).all().item<bool>());
    }

    [Fact]
    public void ATiedHeadSavedOnItsOwnIsUntied()
    {
        var folder = PeftFolder(TestData.TinyGemma3Dir, ["lm_head"], QuantTune.Models.Config.ModelConfig.Load(TestData.TinyGemma3Dir).VocabSize, out var embedding, out var head);
        using var pm = PretrainedModel.Load(TestData.TinyGemma3Dir);
        Assert.Null(pm.Model.lm_head);
        var table = pm.Model.model.embed_tokens.weight.detach().clone();
        AdapterIO.Load(pm.Model, folder);
        Assert.NotNull(pm.Model.lm_head);
        Assert.True(pm.Model.HeadWeight.equal(head!).all().item<bool>());
        Assert.True(pm.Model.model.embed_tokens.weight.equal(table).all().item<bool>(), "the embedding keeps its own table");
        Assert.Contains(pm.Model.named_parameters(), p => p.name == "lm_head.weight");

        // Merged and saved as a plain checkpoint, the head stays its own: config.json is untied too.
        LoraModel.Merge(pm.Model);
        var merged = Path.Combine(Dir, "merged");
        PlainCheckpoint.SaveCheckpoint(pm.Model, TestData.TinyGemma3Dir, merged);
        Assert.False(QuantTune.Models.Config.ModelConfig.Load(merged).TieWordEmbeddings);
        using var back = PretrainedModel.Load(merged);
        Assert.True(back.Model.HeadWeight.equal(head!).all().item<bool>());
        Assert.True(back.Model.model.embed_tokens.weight.equal(table).all().item<bool>());
    }

    [Fact]
    public void ATableOfAnotherVocabularySizeIsRefusedWithTheReason()
    {
        var folder = PeftFolder(TestData.TinyLlamaDir, ["embed_tokens"], 4100, out _, out _);
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        var e = Assert.ThrowsAny<QuantTuneException>(() => AdapterIO.Load(pm.Model, folder));
        Assert.Contains("adapter_model.safetensors", e.Message);
        Assert.Contains("base_model.model.model.embed_tokens.weight", e.Message);
        Assert.Contains("4100 rows", e.Message);
        Assert.Contains("4096", e.Message);
    }

    [Fact]
    public void AModuleOtherThanTheEmbeddingOrHeadIsRefusedByName()
    {
        var e = Assert.ThrowsAny<QuantTuneException>(() => AdapterConfig.Parse("""{"peft_type": "LORA", "modules_to_save": ["score"]}""", "adapter_config.json"));
        Assert.Contains("modules_to_save", e.Message);
        Assert.Contains("'score'", e.Message);
    }
}
