using QuantTune.Quantization.FourBit;
using QuantTune.Quantization.Layers;
using static TorchSharp.torch;

namespace QuantTune.Tests.Quantization;

public sealed class QuantizedLinearTests
{
    [Fact]
    public void InputGradientEqualsTheGradientThroughTheDequantizedWeight()
    {
        // 3000 × 2048 = 6.1M elements: more than one dequantization chunk in forward and backward.
        using var scope = NewDisposeScope();
        var w = randn(3000, 2048) * 0.02;
        var b = randn(3000) * 0.1;
        var q = new FourBitQuantizer(FourBitType.NF4, 64, true).Quantize(w, ScalarType.Float32);
        Assert.True(DequantizingMatmul.Chunks(q).Count() > 1);
        using var layer = new QuantizedLinear(q, b);
        var x = randn(2, 5, 2048).requires_grad_(true);
        var upstream = randn(2, 5, 3000);
        var y = layer.forward(x);
        (y * upstream).sum().backward();

        var dense = q.Dequantize();
        var x2 = x.detach().clone().requires_grad_(true);
        var y2 = nn.functional.linear(x2, dense, b);
        (y2 * upstream).sum().backward();

        Assert.True((y - y2).abs().max().item<float>() < 1e-4, "forward differs");
        double gradError = (x.grad! - x2.grad!).abs().max().item<float>();
        double gradScale = x2.grad!.abs().max().item<float>();
        Assert.True(gradError <= 1e-5 * Math.Max(1, gradScale), $"input gradient differs by {gradError} (scale {gradScale})");
        Assert.False(layer.bias!.requires_grad);
    }

    [Fact]
    public void NoGradientIsAskedOfAFrozenInput()
    {
        using var scope = NewDisposeScope();
        var q = new FourBitQuantizer(FourBitType.NF4, 64, false).Quantize(randn(64, 64), ScalarType.Float32);
        using var layer = new QuantizedLinear(q, null);
        var y = layer.forward(randn(3, 64));
        Assert.False(y.requires_grad);
    }
}
