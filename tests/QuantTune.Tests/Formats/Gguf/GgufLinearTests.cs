using System.Runtime.Intrinsics.X86;
using QuantTune.Formats.Gguf;
using QuantTune.Formats.Gguf.Kernels;
using QuantTune.Quantization.Layers;
using static TorchSharp.torch;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary>
/// <see cref="GgufLinear"/> alone: its forward against x · dequant(W)ᵀ + b for a decode row and a prefill batch; the loose
/// bound of <see cref="GgmlKernelTests"/> (one activation step per element) with a 2% margin for the bias add.
/// </summary>
public sealed class GgufLinearTests
{
    [Theory]
    [InlineData(GgmlType.Q4_K, 512, 1)]
    [InlineData(GgmlType.Q6_K, 256, 5)]
    [InlineData(GgmlType.Q8_0, 96, 5)]
    [InlineData(GgmlType.Q4_0, 64, 1)]
    public void ForwardMatchesTheDequantizedLinear(GgmlType type, int cols, int tokens)
    {
        const int rows = 40;
        var rng = new Random(cols);
        var w = Enumerable.Range(0, rows * cols).Select(_ => (float)(rng.NextDouble() - 0.5) * 0.1f).ToArray();
        using var layer = new GgufLinear(type, GgmlCodec.Quantize(type, w), rows, cols, hasBias: true);
        using (no_grad()) layer.bias!.copy_(arange(rows, ScalarType.Float32) * 0.01f);
        using var x = randn([2, tokens, cols], generator: new Generator(3));
        using var y = layer.forward(x);
        Assert.Equal(new long[] { 2, tokens, rows }, y.shape);

        using var dense = layer.Dequantize();
        using var expected = nn.functional.linear(x, dense, layer.bias);
        // One activation step per element: amax of its block / 127, over the row: ≤ Σ|W| · max|x| / 127.
        double bound = dense.abs().sum(1).max().item<float>() * x.abs().max().item<float>() / 127 * 1.02;
        double worst = (y - expected).abs().max().item<float>();
        Assert.True(worst <= bound, $"{type}: GgufLinear is {worst:g3} off the dequantized linear, beyond {bound:g3}");

        if (Avx2.IsSupported)
        {
            layer.Isa = KernelIsa.Scalar;
            layer.Degree = 1;
            using var scalar = layer.forward(x);
            Assert.Equal(y.data<float>().ToArray(), scalar.data<float>().ToArray()); // the scalar path and the AVX2 path, bit for bit
        }
    }

    [Fact]
    public void BlocksOfAnotherSizeOrTypeAreRefusedByProperty()
    {
        var e = Assert.Throws<ArgumentException>(() => new GgufLinear(GgmlType.Q4_K, new byte[144], 2, 256, false));
        Assert.Contains("OutFeatures 2", e.Message);
        e = Assert.Throws<ArgumentException>(() => new GgufLinear(GgmlType.Q4_K, new byte[144], 1, 64, false));
        Assert.Contains("InFeatures 64", e.Message);
        e = Assert.Throws<ArgumentException>(() => new GgufLinear(GgmlType.Q3_K, new byte[110], 1, 256, false));
        Assert.Contains("Q3_K", e.Message);
    }
}
