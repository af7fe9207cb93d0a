using QuantTune.Qat;
using QuantTune.Quantization;
using static TorchSharp.torch;

namespace QuantTune.Tests.Qat;

public sealed class FakeQuantTests
{
    [Fact]
    public void ClippedSteGradientIsOneInsideTheRangeAndZeroOutside()
    {
        using var scope = NewDisposeScope();
        // Scale 0.1, 4 bits: the range is ±0.7. Values chosen well inside and well outside.
        var values = new[] { -2.0f, -0.69f, -0.3f, 0f, 0.05f, 0.4f, 0.69f, 0.9f, 3f };
        var x = tensor(values).requires_grad_(true);
        var y = FakeQuant.SymmetricInt(x, 4, clip: true, scale: tensor(0.1f));
        var upstream = tensor(new[] { 1f, 2, 3, 4, 5, 6, 7, 8, 9 });
        (y * upstream).sum().backward();
        var grad = x.grad!.data<float>().ToArray();
        var up = upstream.data<float>().ToArray();
        for (int i = 0; i < values.Length; i++)
            Assert.Equal(Math.Abs(values[i]) <= 0.7 ? up[i] : 0f, grad[i]);
        // Forward: clamped to ±7 codes, rounded to the grid.
        Assert.Equal(-0.7f, y.data<float>()[0], 5);
        Assert.Equal(0.4f, y.data<float>()[5], 5);
        Assert.Equal(0.7f, y.data<float>()[8], 5);
    }

    [Fact]
    public void UnclippedSteGradientIsTheIdentityEverywhere()
    {
        using var scope = NewDisposeScope();
        var x = (randn(4, 16) * 3).requires_grad_(true);
        var upstream = randn(4, 16);
        var y = FakeQuant.SymmetricInt(x, 3, QuantGranularity.PerRow, clip: false, scale: full(4, 1, 0.2f));
        (y * upstream).sum().backward();
        Assert.True(x.grad!.allclose(upstream));
        Assert.True(y.abs().max().item<float>() <= 0.6f + 1e-6f, "values are still clipped to ±3 codes");
    }

    [Fact]
    public void LearnableScaleReceivesAGradient()
    {
        using var scope = NewDisposeScope();
        var x = randn(8, 32);
        var scale = FakeQuant.AbsmaxScale(x, 4, QuantGranularity.PerRow).requires_grad_(true);
        FakeQuant.SymmetricInt(x, 4, QuantGranularity.PerRow, clip: true, scale: scale).square().sum().backward();
        Assert.NotNull(scale.grad);
        Assert.Equal(new long[] { 8, 1 }, scale.grad!.shape);
        Assert.True(scale.grad.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void PerRowAbsmaxMatchesAnIndependentReference()
    {
        using var scope = NewDisposeScope();
        var x = randn(5, 12);
        var y = FakeQuant.SymmetricInt(x, 8, QuantGranularity.PerRow);
        var xs = x.data<float>().ToArray();
        var ys = y.data<float>().ToArray();
        for (int r = 0; r < 5; r++)
        {
            double s = Enumerable.Range(0, 12).Max(c => Math.Abs(xs[r * 12 + c])) / 127.0;
            for (int c = 0; c < 12; c++)
                Assert.Equal(Math.Round(xs[r * 12 + c] / s, MidpointRounding.ToEven) * s, ys[r * 12 + c], 4);
        }
    }

    [Fact]
    public void SchemeFakeQuantEqualsTheRoundTripWithIdentityGradient()
    {
        using var scope = NewDisposeScope();
        var quantizer = QuantizationSchemes.Create(new SchemeOptions("nf4"));
        var x = randn(16, 64).requires_grad_(true);
        var y = FakeQuant.Scheme(x, quantizer);
        using var q = quantizer.Quantize(x.detach());
        Assert.True(y.detach().allclose(q.Dequantize().reshape(16, 64)));
        var upstream = randn(16, 64);
        (y * upstream).sum().backward();
        Assert.True(x.grad!.allclose(upstream));
    }
}
