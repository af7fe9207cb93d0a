using QuantTune.Models.Layers;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models.Layers;

/// <summary>
/// The frozen linear's gradient (the LM head of an adapted model): for a bf16 weight on the CPU it
/// is computed in fp32 a block of rows at a time (two blocks here), and equals the fp32 gradient of x·Wᵀ to bf16's
/// rounding of the result; its output is torch's linear's; the weight gets no gradient.
/// </summary>
public sealed class FrozenLinearTests
{
    [Fact]
    public void TheInputGradientIsThatOfTheLinearProduct()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(3);
        var w32 = randn(new long[] { 70000, 64 }, generator: generator);
        var x32 = randn(new long[] { 2, 5, 64 }, generator: generator);
        var g32 = randn(new long[] { 2, 5, 70000 }, generator: generator);
        var w = w32.to_type(ScalarType.BFloat16);
        var x = x32.to_type(ScalarType.BFloat16).requires_grad_(true);
        Assert.True(FrozenLinear.Helps(x, w));
        var y = FrozenLinear.Apply(x, w);
        Assert.Equal(0, (y - nn.functional.linear(x.detach(), w)).abs().max().to_type(ScalarType.Float32).item<float>());
        y.backward([g32.to_type(ScalarType.BFloat16)]);
        var expected = g32.to_type(ScalarType.BFloat16).to_type(ScalarType.Float32).matmul(w.to_type(ScalarType.Float32));
        var error = (x.grad!.to_type(ScalarType.Float32) - expected).abs().max().item<float>();
        var scale = expected.abs().max().item<float>();
        Assert.True(error <= scale / 128, $"gradient differs by {error} (largest {scale})");
        Assert.False(w.requires_grad);
    }

    [Fact]
    public void AnFp32OrTrainedWeightKeepsTorchsLinear()
    {
        using var scope = NewDisposeScope();
        var x = randn(new long[] { 3, 8 }).requires_grad_(true);
        Assert.False(FrozenLinear.Helps(x, randn(new long[] { 4, 8 })));
        Assert.False(FrozenLinear.Helps(x.to_type(ScalarType.BFloat16), randn(new long[] { 4, 8 }).to_type(ScalarType.BFloat16).requires_grad_(true)));
    }
}
