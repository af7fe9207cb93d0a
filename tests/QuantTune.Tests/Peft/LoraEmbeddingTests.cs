using QuantTune.Formats.Safetensors;
using QuantTune.Models.Loading;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using static TorchSharp.torch;

namespace QuantTune.Tests.Peft;

/// <summary>
/// LoRA on the token embedding as PEFT's <c>lora.Embedding</c> computes and saves it:
/// rows + s·Aᵀ[ids]·Bᵀ, merged as W + (B·A)ᵀ·s (<c>get_delta_weight</c>), saved as
/// <c>base_model.model.model.embed_tokens.lora_embedding_A</c> [r, vocab] and <c>_B</c> [hidden, r].
/// </summary>
public sealed class LoraEmbeddingTests() : TempFolderTest("qt-lora-emb-")
{
    static readonly LoraConfig Config = new() { R = 4, LoraAlpha = 8, TargetModules = PeftTargets.FromNames("embed_tokens", "q_proj") };

    /// <summary>tiny-llama with the adapter applied and A, B, the q_proj pairs set to random values.</summary>
    static PretrainedModel WithAdapter()
    {
        var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        LoraModel.Apply(pm.Model, Config, seed: 2);
        using var g = new Generator(9);
        using var _ = no_grad();
        foreach (var p in pm.Model.named_parameters().Where(p => p.name.Contains("lora_")))
            p.parameter.copy_(randn(p.parameter.shape, generator: g) * 0.05);
        return pm;
    }

    [Fact]
    public void TheForwardIsTheTablePlusPeftsDeltaWeight()
    {
        using var pm = WithAdapter();
        var embedding = Assert.Single(LoraModel.Embeddings(pm.Model));
        Assert.Equal("model.embed_tokens", embedding.Path);
        Assert.Equal([4L, 4096], embedding.Layer.lora_embedding_A.shape);
        Assert.Equal([256L, 4], embedding.Layer.lora_embedding_B.shape);
        using var scope = NewDisposeScope();
        var ids = randint(0, 4096, [2, 7], dtype: ScalarType.Int64);
        // Independently: W' = W + (B·A)ᵀ·alpha/r, the rows of W' gathered by id.
        var l = embedding.Layer;
        var table = l.weight.detach() + l.lora_embedding_B.detach().matmul(l.lora_embedding_A.detach()).t() * (8.0 / 4);
        using (no_grad())
            Assert.True((pm.Model.model.Embed(ids) - table[ids]).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void SavedUnderPeftsKeysLoadsAndMergesToTheSameLogits()
    {
        var folder = Path.Combine(Dir, "adapter");
        using var scope = NewDisposeScope();
        var ids = randint(0, 4096, [1, 12], dtype: ScalarType.Int64);
        Tensor expected;
        using (var pm = WithAdapter())
        {
            using (no_grad()) expected = pm.Model.Forward(ids);
            AdapterIO.Save(pm.Model, Config, folder);
        }
        using (var file = SafetensorsFile.Open(Path.Combine(folder, AdapterIO.WeightsFile)))
        {
            Assert.Equal([4L, 4096], file.Info("base_model.model.model.embed_tokens.lora_embedding_A").Shape);
            Assert.Equal([256L, 4], file.Info("base_model.model.model.embed_tokens.lora_embedding_B").Shape);
        }
        using var loaded = PretrainedModel.Load(TestData.TinyLlamaDir);
        AdapterIO.Load(loaded.Model, folder);
        using (no_grad()) Assert.True((loaded.Model.Forward(ids) - expected).abs().max().item<float>() < 1e-5);

        var merged = LoraModel.Merge(loaded.Model);
        Assert.Contains("model.embed_tokens", merged);
        Assert.Empty(LoraModel.Embeddings(loaded.Model));
        Assert.DoesNotContain(loaded.Model.named_parameters(), p => p.name.Contains("lora_"));
        using (no_grad()) Assert.True((loaded.Model.Forward(ids) - expected).abs().max().item<float>() < 1e-4);
    }

    [Fact]
    public void AFreshAdapterIsANoOpThatTrainsA()
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        using var scope = NewDisposeScope();
        var ids = randint(0, 4096, [1, 9], dtype: ScalarType.Int64);
        Tensor before;
        using (no_grad()) before = pm.Model.Forward(ids);
        LoraModel.Apply(pm.Model, new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = PeftTargets.FromNames("embed_tokens") }, seed: 1);
        var l = Assert.Single(LoraModel.Embeddings(pm.Model)).Layer;
        Assert.True(l.lora_embedding_A.abs().max().item<float>() == 0, "PEFT starts A at zero");
        Assert.True(l.lora_embedding_B.abs().max().item<float>() > 0, "and B from N(0, 1)");
        Assert.False(l.weight.requires_grad);
        var logits = pm.Model.Forward(ids);
        Assert.True((logits - before).abs().max().item<float>() == 0);
        nn.functional.cross_entropy(logits.reshape(-1, 4096), ids.reshape(-1)).backward();
        Assert.True(l.lora_embedding_A.grad!.abs().sum().item<float>() > 0);
    }
}
