using QuantTune.Models.Loading;
using QuantTune.Peft.Lora;
using QuantTune.SideTuning;
using QuantTune.Training.Alignment;
using QuantTune.Training.FineTuning;
using QuantTune.Training.FineTuning.Methods;
using static TorchSharp.torch;

namespace QuantTune.Tests.Training.Alignment;

/// <summary>The reference comes from the model being trained: LoRA with its adapters switched off, QST's backbone without the side network.</summary>
public sealed class ReferenceModelTests
{
    static readonly Tensor Ids = tensor(new long[] { 1, 45, 96, 54, 17, 29, 43, 72 }).unsqueeze(0);

    [Fact]
    public void LoraWithItsAdaptersDisabledIsTheBaseModelAndIsEnabledAgainAfterwards()
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        var plain = FineTuneMethodRegistry.PlainForward(pm.Model);
        using var _ = no_grad();
        var before = plain.Logits(Ids);
        LoraModel.Apply(pm.Model, new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = QuantTune.Peft.PeftTargets.FromNames(["q_proj", "v_proj", "down_proj"]) }, seed: 3);
        // A trained adapter: B is no longer zero.
        foreach (var (_, layer) in LoraModel.Layers(pm.Model)) layer.lora_B.weight.normal_(0, 0.5);
        var adapted = plain.Logits(Ids);
        Assert.False(allclose(before, adapted, 1e-3, 1e-3));
        using (var off = new DisabledAdapters(pm.Model))
        {
            Assert.Equal(3 * pm.Model.Config.NumLayers, off.Count); // 3 targets per layer
            Assert.True(before.eq(plain.Logits(Ids)).all().item<bool>());
        }
        Assert.True(adapted.eq(plain.Logits(Ids)).all().item<bool>());

        var labels = Ids.roll(-1, 1);
        var reference = ReferenceModel.For(FineTuneMethod.Lora, pm.Model)!;
        var expected = before.log_softmax(-1).gather(-1, labels.unsqueeze(-1)).sum();
        Assert.Equal(expected.item<float>(), reference(Ids, labels).item<float>(), 3);
    }

    [Fact]
    public void QstsReferenceIsTheBackboneThroughItsOwnHeadNotTheSideNetwork()
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        using var _ = no_grad();
        var backbone = FineTuneMethodRegistry.PlainForward(pm.Model).Logits(Ids);
        using var qst = new QstModel(pm.Model, new QstConfig(), seed: 1);
        var labels = Ids.roll(-1, 1);
        var reference = ReferenceModel.For(FineTuneMethod.Qst, pm.Model)!;
        Assert.Equal(backbone.log_softmax(-1).gather(-1, labels.unsqueeze(-1)).sum().item<float>(), reference(Ids, labels).item<float>(), 3);
        // The QST model's own output differs: the side network is mixed in.
        var policy = qst.Head(qst.Hidden(Ids));
        Assert.False(allclose(policy, backbone, 1e-3, 1e-3));
        Assert.Null(ReferenceModel.For(FineTuneMethod.Full, pm.Model));
    }
}
