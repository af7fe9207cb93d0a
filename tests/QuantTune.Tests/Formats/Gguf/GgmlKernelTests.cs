using System.Buffers.Binary;
using System.Runtime.Intrinsics.X86;
using QuantTune.Formats.Gguf;
using QuantTune.Formats.Gguf.Blocks;
using QuantTune.Formats.Gguf.Kernels;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary>
/// The dot-product kernels against dequantize-then-multiply, in double. Bounds:
/// <list type="bullet">
/// <item>near-exact: against dequant(W) · dequant(quant(x)), the very values the kernel multiplies, the integer block
/// sums are exact and only the float steps round (a few ulps per block, accumulated over at most 32 blocks), so
/// |y - ref| ≤ 1e-5 · Σ|W||A| (A = dequant(quant(x)); with the mins' term summed apart, Σ|d·sc·q| + Σ|dmin·m| stands for |W|).</item>
/// <item>loose: against dequant(W) · x, quantizing x moves each element by at most one activation step
/// (amax of its block / 127, fp16 rounding of Q8_0's d included), so |y - W·x| ≤ Σ|W_i|·step_i + the near-exact bound.</item>
/// <item>the scalar and AVX2 paths, and one thread or two, agree to the bit.</item>
/// </list>
/// </summary>
public sealed class GgmlKernelTests
{
    const int Rows = 37, ActivationRows = 3;

    public static TheoryData<GgmlType, int> Shapes()
    {
        var data = new TheoryData<GgmlType, int>();
        // Columns of real models: Qwen3-0.6B (1024, 3072, 2048), Llama-3.2-1B (2048, 8192), Qwen2-0.5B (896, 4864; not whole k-quant blocks).
        foreach (var type in new[] { GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K })
            foreach (int cols in new[] { 256, 1024, 2048, 3072, 8192 }) data.Add(type, cols);
        foreach (var type in new[] { GgmlType.Q4_0, GgmlType.Q8_0 })
            foreach (int cols in new[] { 32, 896, 1024, 3072, 4864 }) data.Add(type, cols);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void QuantizedRandomWeights_MatchDequantizedProduct(GgmlType type, int cols) =>
        CheckAgainstReference(type, cols, QuantizedWeights(type, cols, seed: cols + (int)type));

    [Theory]
    [MemberData(nameof(Shapes))]
    public void RandomByteBlocks_MatchDequantizedProduct(GgmlType type, int cols) =>
        CheckAgainstReference(type, cols, RandomBlocks(type, cols, seed: 7 * cols + (int)type));

    [Fact]
    public void Q8_K_HandComputedBlock()
    {
        // max = -2 (largest |x|), iscale = -127 / -2 = 63.5: -2 -> -127, 1 -> nearest_int(63.5) = 64 (half to even), 0.01 -> 1.
        var x = new float[256];
        x[5] = -2f; x[6] = 1f; x[17] = 0.01f;
        var y = new byte[BlockQ8_K.BlockBytes];
        BlockQ8_K.QuantizeRow(x, y);
        Assert.Equal(1 / 63.5f, BinaryPrimitives.ReadSingleLittleEndian(y));
        Assert.Equal(-127, (sbyte)y[BlockQ8_K.QsAt + 5]);
        Assert.Equal(64, (sbyte)y[BlockQ8_K.QsAt + 6]);
        Assert.Equal(1, (sbyte)y[BlockQ8_K.QsAt + 17]);
        Assert.Equal(-63, BinaryPrimitives.ReadInt16LittleEndian(y.AsSpan(BlockQ8_K.BsumsAt)));
        Assert.Equal(1, BinaryPrimitives.ReadInt16LittleEndian(y.AsSpan(BlockQ8_K.BsumsAt + 2)));
        Assert.Equal(3, y.Skip(BlockQ8_K.QsAt).Take(256).Count(b => b != 0));
    }

    [Fact]
    public void Q8_K_ZeroBlock_IsAllZero()
    {
        var y = Enumerable.Repeat((byte)0xAB, 2 * BlockQ8_K.BlockBytes).ToArray();
        var x = new float[512];
        x[300] = 3f;
        BlockQ8_K.QuantizeRow(x, y);
        Assert.All(y.Take(BlockQ8_K.BlockBytes), b => Assert.Equal(0, b));
        // A positive max gives a negative d (iscale = -127 / max), so the max itself is stored as -127.
        Assert.Equal(-127, (sbyte)y[BlockQ8_K.BlockBytes + BlockQ8_K.QsAt + 44]);
        Assert.Equal(-3f / 127, BinaryPrimitives.ReadSingleLittleEndian(y.AsSpan(BlockQ8_K.BlockBytes)), 6);
    }

    [Fact]
    public void Q8_K_RoundsEveryValueToItsNearestLevel()
    {
        var rng = new Random(5);
        var x = Enumerable.Range(0, 4 * 256).Select(_ => (float)(rng.NextDouble() - 0.3) * 10).ToArray();
        var y = new byte[4 * BlockQ8_K.BlockBytes];
        BlockQ8_K.QuantizeRow(x, y);
        var back = new float[x.Length];
        BlockQ8_K.DequantizeRow(y, back);
        for (int b = 0; b < 4; b++)
        {
            var block = y.AsSpan(b * BlockQ8_K.BlockBytes, BlockQ8_K.BlockBytes);
            float d = BinaryPrimitives.ReadSingleLittleEndian(block);
            for (int i = 0; i < 256; i++)
                Assert.InRange(Math.Abs(back[b * 256 + i] - x[b * 256 + i]), 0, Math.Abs(d) * 0.5001);
            for (int j = 0; j < 16; j++)
            {
                int sum = 0;
                for (int l = 0; l < 16; l++) sum += (sbyte)block[BlockQ8_K.QsAt + 16 * j + l];
                Assert.Equal(sum, BinaryPrimitives.ReadInt16LittleEndian(block[(BlockQ8_K.BsumsAt + 2 * j)..]));
            }
        }
    }

    [Fact]
    public void Q4_K_HandComputedDot()
    {
        // d = 1, dmin = 0.5, every scale 1 and min 2, every level 3; activations all 1 (d = 1/127, q = 127):
        // y = Σ (1·1·3 - 0.5·2) · 1 = 256 · 2.
        var w = new byte[BlockQ4_K.BlockBytes];
        BlockMath.WriteF16(w, 1f);
        BlockMath.WriteF16(w.AsSpan(2), 0.5f);
        for (int j = 0; j < 4; j++) { w[4 + j] = 1; w[8 + j] = 2; }
        for (int j = 0; j < 4; j++) w[12 + j] = 1 | (2 << 4);
        for (int j = 16; j < w.Length; j++) w[j] = 0x33;
        var x = Enumerable.Repeat(1f, 256).ToArray();
        var q = new byte[BlockQ8_K.BlockBytes];
        GgmlVecDot.QuantizeActivations(GgmlType.Q4_K, x, q);
        foreach (var isa in Isas())
            Assert.Equal(512f, GgmlVecDot.Dot(GgmlType.Q4_K, w, q, 256, isa), 3);
    }

    [Fact]
    public void TypeWithoutKernel_IsRefusedByName()
    {
        var e = Assert.Throws<NotSupportedException>(() => GgmlVecDot.Dot(GgmlType.Q2_K, new byte[84], new byte[BlockQ8_K.BlockBytes], 256, KernelIsa.Scalar));
        Assert.Contains("Q2_K", e.Message);
        Assert.False(GgmlVecDot.HasKernel(GgmlType.Q3_K));
        Assert.True(GgmlVecDot.HasKernel(GgmlType.Q6_K));
    }

    [Fact]
    public void ColumnsNotWholeBlocks_AreRefused()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            GgmlMatMul.Multiply(GgmlType.Q4_K, new byte[144 * 3], 1, 896, new float[896], new float[1], 1, KernelIsa.Scalar));
        Assert.Contains("896", e.Message);
        Assert.Contains("Q4_K", e.Message);
    }

    static IEnumerable<KernelIsa> Isas() => Avx2.IsSupported ? [KernelIsa.Scalar, KernelIsa.Avx2] : [KernelIsa.Scalar];

    static void CheckAgainstReference(GgmlType type, int cols, byte[] weights)
    {
        var rng = new Random(cols);
        var x = Gaussian(rng, ActivationRows * cols, 1.0);
        for (int i = 0; i < 5; i++) x[rng.Next(x.Length)] *= 20; // activation outliers, as real hidden states have

        var scalar = new float[ActivationRows * Rows];
        GgmlMatMul.Multiply(type, weights, Rows, cols, x, scalar, 1, KernelIsa.Scalar);
        if (Avx2.IsSupported)
        {
            var avx2 = new float[scalar.Length];
            GgmlMatMul.Multiply(type, weights, Rows, cols, x, avx2, 2, KernelIsa.Avx2);
            Assert.Equal(scalar, avx2); // bit for bit
        }

        var w = GgmlCodec.Dequantize(type, weights, Rows * cols);
        var wAbs = WeightMagnitudes(type, weights, cols);
        int qRow = GgmlVecDot.ActivationRowBytes(type, cols);
        for (int r = 0; r < ActivationRows; r++)
        {
            var xr = x.AsSpan(r * cols, cols);
            var q = new byte[qRow];
            GgmlVecDot.QuantizeActivations(type, xr, q);
            var a = DequantizeActivations(type, q, cols);
            var step = ActivationSteps(type, xr);
            for (int o = 0; o < Rows; o++)
            {
                double exact = 0, exactScale = 0, full = 0, quantBound = 0;
                for (int i = 0; i < cols; i++)
                {
                    double wi = w[o * cols + i];
                    exact += wi * a[i];
                    exactScale += wAbs[o * cols + i] * Math.Abs(a[i]);
                    full += wi * xr[i];
                    quantBound += Math.Abs(wi) * step[i];
                }
                double got = scalar[r * Rows + o];
                double nearExact = 1e-5 * exactScale + 1e-30;
                Assert.True(Math.Abs(got - exact) <= nearExact,
                    $"{type} [{o}, {cols}] row {r}: kernel {got} vs dequantized product {exact}, off by {Math.Abs(got - exact):g3} > {nearExact:g3}");
                Assert.True(Math.Abs(got - full) <= quantBound + nearExact,
                    $"{type} [{o}, {cols}] row {r}: kernel {got} vs float product {full}, off by {Math.Abs(got - full):g3} > {quantBound + nearExact:g3}");
            }
        }
    }

    static float[] DequantizeActivations(GgmlType type, byte[] q, int cols)
    {
        var a = new float[cols];
        if (type.BlockSize() == GgmlTypes.QK_K) BlockQ8_K.DequantizeRow(q, a);
        else BlockQ8_0.DequantizeRow(q, a);
        return a;
    }

    /// <summary>The most quantizing moves each activation: one step, amax of its block / 127 (Q8_0's d is fp16: 2^-11 relative more).</summary>
    static double[] ActivationSteps(GgmlType type, ReadOnlySpan<float> x)
    {
        int bs = type.BlockSize() == GgmlTypes.QK_K ? BlockQ8_K.BlockSize : BlockQ8_0.BlockSize;
        var step = new double[x.Length];
        for (int b = 0; b < x.Length; b += bs)
        {
            double amax = BlockMath.AbsMax(x.Slice(b, bs));
            for (int i = 0; i < bs; i++) step[b + i] = amax / 127 * (1 + 1.0 / 1024);
        }
        return step;
    }

    /// <summary>|W| for the float bound: for Q4_K/Q5_K the two terms d·sc·q and dmin·m apart (the kernel sums them apart), else |dequant(W)|.</summary>
    static double[] WeightMagnitudes(GgmlType type, byte[] weights, int cols)
    {
        var w = GgmlCodec.Dequantize(type, weights, Rows * cols);
        var abs = w.Select(v => (double)Math.Abs(v)).ToArray();
        if (type is not (GgmlType.Q4_K or GgmlType.Q5_K)) return abs;
        // The mins' term of each element: dmin·m of its sub-block; |d·sc·q| ≤ |w| + dmin·m.
        int bb = type.BlockBytes();
        for (int blk = 0; blk < Rows * cols / 256; blk++)
        {
            var block = weights.AsSpan(blk * bb, bb);
            float dmin = BlockMath.ReadF16(block[2..]);
            for (int j = 0; j < 8; j++)
            {
                int m = j < 4 ? block[8 + j] & 63 : (block[8 + j] >> 4) | ((block[4 + j] >> 6) << 4);
                for (int l = 0; l < 32; l++) abs[blk * 256 + 32 * j + l] += 2 * Math.Abs(dmin * m);
            }
        }
        return abs;
    }

    static byte[] QuantizedWeights(GgmlType type, int cols, int seed)
    {
        var rng = new Random(seed);
        var w = Gaussian(rng, Rows * cols, 0.02);
        return GgmlCodec.Quantize(type, w);
    }

    /// <summary>Blocks of random bytes, every bit pattern of levels and scales, with finite fp16 scales of model size.</summary>
    static byte[] RandomBlocks(GgmlType type, int cols, int seed)
    {
        var rng = new Random(seed);
        var bytes = new byte[type.ByteCount((long)Rows * cols)!.Value];
        rng.NextBytes(bytes);
        int bb = type.BlockBytes();
        for (int b = 0; b < bytes.Length; b += bb)
            foreach (int at in type switch
            {
                GgmlType.Q4_K or GgmlType.Q5_K => new[] { 0, 2 },
                GgmlType.Q6_K => new[] { 208 },
                _ => new[] { 0 },
            })
                BlockMath.WriteF16(bytes.AsSpan(b + at), (float)(rng.NextDouble() * 1e-3 * (at == 208 || type.BlockSize() == 32 ? rng.Next(2) * 2 - 1 : 1)));
        return bytes;
    }

    static float[] Gaussian(Random rng, int n, double sigma)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++)
            x[i] = (float)(sigma * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        return x;
    }
}
