using QuantTune.Models.Loading;
using QuantTune.Qat;
using static TorchSharp.torch;

namespace QuantTune.Tests.Qat;

public sealed class PackedBitNetModelTests
{
    [Fact]
    public void PackedModelMatchesTheBitLinear158ModelInLogitsAndPerplexity()
    {
        using var scope = NewDisposeScope();
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        var converted = BitNetConverter.Convert(pm.Model, BitNetKind.BitNet158);
        var ids = tensor(pm.Tokenizer.Encode(File.ReadAllText(TestData.WikiTestRaw)[..2000], true).Take(128).Select(i => (long)i).ToArray()).unsqueeze(0);
        Tensor fake, packed;
        using (no_grad()) fake = pm.Model.Forward(ids);
        var paths = QatInference.PackBitLinear158(pm.Model);
        Assert.Equal(converted, paths);
        Assert.All(paths, p => Assert.IsType<PackedBitLinear158>(pm.Model.named_modules().First(m => m.name == p).module));
        using (no_grad()) packed = pm.Model.Forward(ids);
        // Per layer the two agree to float rounding (TernaryKernelTests); across 28 layers that rounding
        // now and then moves an activation across a rounding boundary of the next layer's 8-bit
        // quantization, a step of max|x|/127, so logits agree closely on average and perplexity to 1e-3.
        // How often that happens depends on the CPU's sgemm kernels in the dense path (the packed path
        // sums integers exactly): the ratio stayed within 5e-5 of 1 on AMD EPYC (AVX2) and was 0.99992
        // on an Intel Xeon with AVX-512. A wrong code, sign or γ moves it by orders of magnitude more.
        Tensor diff = (packed - fake).abs();
        double magnitude = fake.abs().max().item<float>();
        Assert.True(diff.mean().item<float>() <= 1e-3 * magnitude, $"mean logit error {diff.mean().item<float>()} at magnitude {magnitude}");
        Assert.True(diff.max().item<float>() <= 2e-2 * magnitude, $"max logit error {diff.max().item<float>()} at magnitude {magnitude}");
        double Perplexity(Tensor logits) => Math.Exp(nn.functional.cross_entropy(logits[0, ..^1], ids[0, 1..]).item<float>());
        Assert.InRange(Perplexity(packed) / Perplexity(fake), 1 - 1e-3, 1 + 1e-3);
    }
}
