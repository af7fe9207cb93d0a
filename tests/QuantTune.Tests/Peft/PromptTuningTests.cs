using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Models.Loading;
using QuantTune.Peft.PromptTuning;
using static QuantTune.Tests.Peft.PeftTestSupport;
using static TorchSharp.torch;

namespace QuantTune.Tests.Peft;

public sealed class PromptTuningTests
{
    [Fact]
    public void LogitsCoverOnlyTheRealTokens()
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        using var scope = NewDisposeScope();
        var ids = Ids();
        var prompt = PromptTuningModel.Apply(pm.Model, new PromptTuningConfig(), seed: 4);
        using var _ = no_grad();
        var logits = prompt.Forward(ids);
        Assert.Equal([ids.shape[0], ids.shape[1], (long)pm.Config.VocabSize], logits.shape);
        // The same as running the base on [prompt; embeddings] and dropping the first n positions.
        var embeds = cat([prompt.prompt_embeddings.unsqueeze(0).expand(2, -1, -1), pm.Model.model.embed_tokens.forward(ids)], 1);
        var reference = pm.Model.Head(pm.Model.model.ForwardEmbeddings(embeds))[.., 20..];
        AssertIdentical(reference, logits);
    }

    [Fact]
    public void OnlyThePromptTrainsAndReceivesAGradient()
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        using var scope = NewDisposeScope();
        var config = new PromptTuningConfig { NumVirtualTokens = 7 };
        var prompt = PromptTuningModel.Apply(pm.Model, config, seed: 4);
        long expected = (long)config.NumVirtualTokens * pm.Config.HiddenSize;
        Assert.Equal(expected, Trainable(prompt));
        Assert.Equal(0, Trainable(pm.Model));
        var ids = Ids();
        var loss = nn.functional.cross_entropy(prompt.Forward(ids).reshape(-1, pm.Config.VocabSize), ids.reshape(-1));
        loss.backward();
        Assert.NotNull(prompt.prompt_embeddings.grad);
        Assert.True(prompt.prompt_embeddings.grad!.abs().sum().item<float>() > 0);
        Assert.All(pm.Model.parameters(), p => Assert.Null(p.grad));
    }

    [Fact]
    public void SampledInitUsesRowsOfTheEmbeddingTable()
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        using var scope = NewDisposeScope();
        var prompt = PromptTuningModel.Apply(pm.Model, new PromptTuningConfig { NumVirtualTokens = 5 }, seed: 4);
        var table = pm.Model.model.embed_tokens.weight.detach();
        for (int i = 0; i < 5; i++)
        {
            var row = prompt.prompt_embeddings.detach()[i];
            Assert.True((table - row).abs().sum(1).min().item<float>() == 0, $"virtual token {i} is no row of the table");
        }
    }

    [Fact]
    public void TextInitRepeatsTheTokenizedText()
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        using var scope = NewDisposeScope();
        var config = new PromptTuningConfig { NumVirtualTokens = 9, Init = PromptTuningInit.Text, InitText = "Classify the review:" };
        var tokens = pm.Tokenizer.Encode(config.InitText, addSpecialTokens: true);
        Assert.True(tokens.Count < 9, "the text should be shorter than the prompt so it is repeated");
        var prompt = PromptTuningModel.Apply(pm.Model, config, seed: 4, pm.Tokenizer);
        var table = pm.Model.model.embed_tokens.weight.detach();
        for (int i = 0; i < 9; i++)
            Assert.True(prompt.prompt_embeddings.detach()[i].eq(table[tokens[i % tokens.Count]]).all().item<bool>());
        Assert.Throws<QuantTuneException>(() => PromptTuningModel.Apply(pm.Model, config, seed: 4));

        // PEFT needs to know which tokenizer made the text's ids: the base model's, when nothing else is named.
        using var dir = new TempDir();
        Assert.Throws<QuantTuneException>(() => prompt.Save(config, dir.Path));
        prompt.Save(config with { BaseModelNameOrPath = TestData.TinyLlamaDir }, dir.Path);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir.Path, "adapter_config.json")))!;
        Assert.Equal("TEXT", (string?)json["prompt_tuning_init"]);
        Assert.Equal("Classify the review:", (string?)json["prompt_tuning_init_text"]);
        Assert.Equal(TestData.TinyLlamaDir, (string?)json["tokenizer_name_or_path"]);
    }

    [Fact]
    public void SaveThenLoadReproducesTheLogits()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        var ids = Ids();
        var config = new PromptTuningConfig { NumVirtualTokens = 6, Init = PromptTuningInit.Random };
        Tensor expected;
        using (var pm = PretrainedModel.Load(TestData.TinyLlamaDir))
        {
            var prompt = PromptTuningModel.Apply(pm.Model, config, seed: 8);
            using (no_grad()) expected = prompt.Forward(ids);
            prompt.Save(config, dir.Path);
        }
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir.Path, "adapter_config.json")))!;
        Assert.Equal("PROMPT_TUNING", (string?)json["peft_type"]);
        Assert.Equal(6, (int?)json["num_virtual_tokens"]);
        Assert.Equal(256, (int?)json["token_dim"]);
        Assert.Equal(1, (int?)json["num_transformer_submodules"]);
        Assert.Equal(8, (int?)json["num_attention_heads"]);
        Assert.Equal(4, (int?)json["num_layers"]);
        Assert.Equal("RANDOM", (string?)json["prompt_tuning_init"]);
        Assert.Equal("CAUSAL_LM", (string?)json["task_type"]);
        using var file = QuantTune.Formats.Safetensors.SafetensorsFile.Open(Path.Combine(dir.Path, "adapter_model.safetensors"));
        Assert.Equal([6L, 256], file.Info("prompt_embeddings").Shape);

        using var fresh = PretrainedModel.Load(TestData.TinyLlamaDir);
        var (loaded, loadedConfig) = PromptTuningModel.Load(fresh.Model, dir.Path);
        Assert.Equal(PromptTuningInit.Random, loadedConfig.Init);
        using (no_grad()) AssertIdentical(expected, loaded.Forward(ids));
    }

    [Fact]
    public void ATokenDimOtherThanTheHiddenSizeIsRejected()
    {
        using var dir = new TempDir();
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        var config = new PromptTuningConfig { NumVirtualTokens = 3 };
        PromptTuningModel.Apply(pm.Model, config, seed: 1).Save(config, dir.Path);
        var path = Path.Combine(dir.Path, "adapter_config.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!;
        json["token_dim"] = 512;
        File.WriteAllText(path, json.ToJsonString());
        var e = Assert.Throws<InvalidFormatException>(() => PromptTuningModel.Load(pm.Model, dir.Path));
        Assert.Equal("token_dim", e.Field);
    }
}
