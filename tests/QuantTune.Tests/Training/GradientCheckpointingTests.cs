using QuantTune.Models.Loading;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using static TorchSharp.torch;

namespace QuantTune.Tests.Training;

/// <summary>Checkpointed layers give the same gradients as stored activations (dropout included: the random state is replayed).</summary>
[Collection(SerialCollection.Name)]
public sealed class GradientCheckpointingTests
{
    static Dictionary<string, Tensor> Gradients(bool checkpointing)
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        LoraModel.Apply(pm.Model, new LoraConfig { R = 4, LoraAlpha = 8, LoraDropout = 0.2, TargetModules = PeftTargets.AllLinearLayers }, seed: 3);
        // Non-zero B so that every LoRA parameter gets a gradient (the same values in both models).
        manual_seed(5);
        using (no_grad())
            foreach (var (name, p) in pm.Model.named_parameters().Where(p => p.name.EndsWith("lora_B.weight")))
                p.normal_(0, 0.02);
        pm.Model.model.GradientCheckpointing = checkpointing;
        pm.Model.train();
        manual_seed(11);
        using var ids = randint(0, 4096, [2, 48], dtype: ScalarType.Int64);
        var logits = pm.Model.Forward(ids);
        nn.functional.cross_entropy(logits.reshape(-1, 4096), ids.reshape(-1)).backward();
        return pm.Model.named_parameters().Where(p => p.parameter.requires_grad)
            .ToDictionary(p => p.name, p => p.parameter.grad!.detach().clone().DetachFromDisposeScope());
    }

    [Fact]
    public void CheckpointedGradientsEqualStoredActivationGradients()
    {
        var plain = Gradients(false);
        var checkpointed = Gradients(true);
        Assert.Equal(plain.Keys.Order(), checkpointed.Keys.Order());
        foreach (var (name, g) in plain)
        {
            double error = (g - checkpointed[name]).abs().max().item<float>();
            double scale = g.abs().max().item<float>();
            Assert.True(error <= 1e-5 * Math.Max(scale, 1e-3), $"{name}: {error} (scale {scale})");
        }
    }
}
