using QuantTune.Models.Loading;
using QuantTune.Models.Transformer;
using QuantTune.Peft.BitFit;
using QuantTune.Peft.Bottleneck;
using QuantTune.Peft.Ia3;
using QuantTune.Quantization.FourBit;
using QuantTune.Quantization.Layers;
using QuantTune.Quantization.Models;
using static QuantTune.Tests.Peft.PeftTestSupport;
using static TorchSharp.torch;

namespace QuantTune.Tests.Peft;

/// <summary>Every wrapping method works on a frozen NF4 base (QLoRA-style): unchanged at init, gradients reach its own parameters.</summary>
public sealed class QuantizedBaseTests
{
    [Theory]
    [InlineData("ia3")]
    [InlineData("bottleneck")]
    [InlineData("bitfit")]
    public void WrapsQuantizedLinears(string method)
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        ModelQuantizer.Quantize(pm.Model, new FourBitQuantizer(FourBitType.NF4, 64, false), ScalarType.BFloat16);
        Assert.IsType<QuantizedLinear>(pm.Model.model.layers[0].self_attn!.k_proj);
        using var scope = NewDisposeScope();
        var ids = Ids();
        var before = Logits(pm.Model, ids);
        Action<CausalLM> apply = method switch
        {
            "ia3" => m => Ia3Model.Apply(m, new Ia3Config()),
            "bottleneck" => m => BottleneckModel.Apply(m, new BottleneckConfig(), seed: 1),
            _ => m => BitFitModel.Apply(m, new BitFitConfig()),
        };
        apply(pm.Model);
        AssertIdentical(before, Logits(pm.Model, ids));
        var loss = nn.functional.cross_entropy(pm.Model.Forward(ids).reshape(-1, pm.Config.VocabSize), ids.reshape(-1));
        loss.backward();
        var trainable = pm.Model.parameters().Where(p => p.requires_grad).ToList();
        Assert.NotEmpty(trainable);
        Assert.All(trainable, p => Assert.NotNull(p.grad));
    }
}
