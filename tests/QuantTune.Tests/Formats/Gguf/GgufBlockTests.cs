using QuantTune.Formats.Gguf;
using QuantTune.Formats.Gguf.Blocks;

namespace QuantTune.Tests.Formats.Gguf;

public sealed class GgufBlockTests
{
    [Fact]
    public void Q8_0_HandComputedBlock()
    {
        // amax = 127 so d = 127/127 = 1 (fp16 0x3C00) and q = roundf(x), halves away from zero.
        var x = new float[32];
        x[0] = 127f; x[1] = -2.5f; x[2] = 2.5f; x[3] = 0.49f;
        for (int j = 4; j < 32; j++) x[j] = j - 16;
        var expected = new byte[34];
        expected[0] = 0x00; expected[1] = 0x3C;
        expected[2] = 0x7F; expected[3] = 0xFD; expected[4] = 0x03; expected[5] = 0x00;
        for (int j = 4; j < 32; j++) expected[2 + j] = unchecked((byte)(sbyte)(j - 16));
        Assert.Equal(expected, GgmlCodec.Quantize(GgmlType.Q8_0, x));
        var back = GgmlCodec.Dequantize(GgmlType.Q8_0, expected, 32);
        Assert.Equal(127f, back[0]);
        Assert.Equal(-3f, back[1]);
        Assert.Equal(3f, back[2]);
        Assert.Equal(0f, back[3]);
    }

    [Fact]
    public void Q4_0_HandComputedBlock_NegativeMax()
    {
        // max = -8 (largest |x|), d = -8 / -8 = 1, q = min(15, (int8)(x + 8.5)).
        var x = new float[32];
        x[0] = -8f;    // 0.5  -> 0
        x[16] = 7.9f;  // 16.4 -> 16 -> clipped to 15
        x[1] = 0f;     // 8.5  -> 8
        x[17] = 0.5f;  // 9.0  -> 9
        x[2] = -0.5f;  // 8.0  -> 8
        x[3] = -0.6f;  // 7.9  -> 7
        var expected = Enumerable.Repeat((byte)0x88, 18).ToArray();
        expected[0] = 0x00; expected[1] = 0x3C;
        expected[2] = 0xF0; expected[3] = 0x98; expected[4] = 0x88; expected[5] = 0x87;
        Assert.Equal(expected, GgmlCodec.Quantize(GgmlType.Q4_0, x));
        var back = GgmlCodec.Dequantize(GgmlType.Q4_0, expected, 32);
        Assert.Equal(-8f, back[0]);
        Assert.Equal(7f, back[16]);
        Assert.Equal(1f, back[17]);
        Assert.Equal(-1f, back[3]);
    }

    [Fact]
    public void Q4_0_HandComputedBlock_PositiveMax()
    {
        // max = 4, d = 4 / -8 = -0.5 (fp16 0xB800), 1/d = -2.
        var x = new float[32];
        x[0] = 4f;      // -8 + 8.5 = 0.5 -> 0
        x[16] = -3.9f;  // 7.8 + 8.5 = 16.3 -> 16 -> 15
        var expected = Enumerable.Repeat((byte)0x88, 18).ToArray();
        expected[0] = 0x00; expected[1] = 0xB8; expected[2] = 0xF0;
        Assert.Equal(expected, GgmlCodec.Quantize(GgmlType.Q4_0, x));
        var back = GgmlCodec.Dequantize(GgmlType.Q4_0, expected, 32);
        Assert.Equal(4f, back[0]);
        Assert.Equal(-3.5f, back[16]);
        Assert.Equal(0f, back[5]);
    }

    [Fact]
    public void ZeroBlocksEncodeToZeroScale()
    {
        var x = new float[64];
        Assert.All(GgmlCodec.Quantize(GgmlType.Q8_0, x), b => Assert.Equal(0, b));
        var q4 = GgmlCodec.Quantize(GgmlType.Q4_0, x);
        Assert.Equal(new byte[] { 0x00, 0x80 }, q4[..2]); // d = 0 / -8 = -0.0, as in the reference
        Assert.All(q4[2..18], b => Assert.Equal(0x88, b));
        Assert.All(GgmlCodec.Dequantize(GgmlType.Q4_0, q4, 64), v => Assert.Equal(0f, v));
    }

    static float[] RandomBlocks(int seed, int blocks)
    {
        var rng = new Random(seed);
        var x = new float[blocks * 32];
        for (int i = 0; i < x.Length; i++)
        {
            int b = i / 32;
            x[i] = (b % 4) switch
            {
                0 => (float)(rng.NextDouble() * 2 - 1),
                1 => (float)((rng.NextDouble() * 2 - 1) * 1000),
                2 => rng.Next(-20, 21) * 0.25f,          // many exact halves / ties
                _ => (float)(rng.NextDouble() * 1e-3),   // all positive: positive max
            };
        }
        return x;
    }

    /// <summary>Naive re-statement of quantize_row_q8_0_ref followed by dequantize_row_q8_0.</summary>
    static float[] NaiveQ8_0(float[] x)
    {
        var y = new float[x.Length];
        for (int b = 0; b < x.Length / 32; b++)
        {
            var block = x.Skip(b * 32).Take(32).ToArray();
            float amax = block.Select(MathF.Abs).Max();
            float d = amax / 127f;
            float id = d == 0 ? 0 : 1f / d;
            float d16 = (float)(Half)d;
            for (int j = 0; j < 32; j++)
            {
                float v = block[j] * id;
                double q = Math.Round((double)v, MidpointRounding.AwayFromZero); // C roundf
                y[b * 32 + j] = (sbyte)q * d16;
            }
        }
        return y;
    }

    /// <summary>Naive re-statement of quantize_row_q4_0_ref followed by dequantize_row_q4_0.</summary>
    static float[] NaiveQ4_0(float[] x)
    {
        var y = new float[x.Length];
        for (int b = 0; b < x.Length / 32; b++)
        {
            var block = x.Skip(b * 32).Take(32).ToArray();
            float max = 0;
            foreach (float v in block) if (MathF.Abs(v) > MathF.Abs(max)) max = v;
            float d = max / -8f;
            float id = d == 0 ? 0 : 1f / d;
            float d16 = (float)(Half)d;
            for (int j = 0; j < 32; j++)
            {
                int q = Math.Min(15, (int)(block[j] * id + 8.5f));
                y[b * 32 + j] = (q - 8) * d16;
            }
        }
        return y;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RoundTripMatchesNaiveReference(int seed)
    {
        var x = RandomBlocks(seed, 64);
        Assert.Equal(NaiveQ8_0(x), GgmlCodec.Dequantize(GgmlType.Q8_0, GgmlCodec.Quantize(GgmlType.Q8_0, x), x.Length));
        Assert.Equal(NaiveQ4_0(x), GgmlCodec.Dequantize(GgmlType.Q4_0, GgmlCodec.Quantize(GgmlType.Q4_0, x), x.Length));
        var f16 = GgmlCodec.Dequantize(GgmlType.F16, GgmlCodec.Quantize(GgmlType.F16, x), x.Length);
        Assert.Equal(x.Select(v => (float)(Half)v).ToArray(), f16);
        Assert.Equal(x, GgmlCodec.Dequantize(GgmlType.F32, GgmlCodec.Quantize(GgmlType.F32, x), x.Length));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void RoundTripErrorWithinTypeBound(int seed)
    {
        var x = RandomBlocks(seed, 64);
        var q8 = GgmlCodec.Dequantize(GgmlType.Q8_0, GgmlCodec.Quantize(GgmlType.Q8_0, x), x.Length);
        var q4 = GgmlCodec.Dequantize(GgmlType.Q4_0, GgmlCodec.Quantize(GgmlType.Q4_0, x), x.Length);
        for (int b = 0; b < x.Length / 32; b++)
        {
            var block = x.AsSpan(b * 32, 32).ToArray();
            float amax = block.Select(MathF.Abs).Max();
            // Q8_0: |x - q d| <= d/2, plus |q| <= 127 times the fp16 rounding error of d (subnormal for tiny blocks).
            float d8 = amax / 127f, bound8 = d8 / 2 + 127f * MathF.Abs(d8 - (float)(Half)d8) + 1e-12f;
            // Q4_0: rounding error <= |d|/2 except the clipped top code (x/d in [7.5, 8]) which is off by <= |d|.
            float d4 = amax / 8f, bound4 = d4 + 8f * MathF.Abs(d4 - (float)(Half)d4) + 1e-12f;
            for (int j = 0; j < 32; j++)
            {
                Assert.True(MathF.Abs(block[j] - q8[b * 32 + j]) <= bound8, $"Q8_0 block {b} elem {j}: {block[j]} -> {q8[b * 32 + j]}");
                Assert.True(MathF.Abs(block[j] - q4[b * 32 + j]) <= bound4, $"Q4_0 block {b} elem {j}: {block[j]} -> {q4[b * 32 + j]}");
            }
        }
    }

    [Fact]
    public void BlockGeometry()
    {
        Assert.Equal(34, GgmlType.Q8_0.BlockBytes());
        Assert.Equal(18, GgmlType.Q4_0.BlockBytes());
        Assert.Equal(34 * 3L, GgmlType.Q8_0.ByteCount(96));
        Assert.Null(GgmlType.Q4_0.ByteCount(33));
        Assert.Throws<ArgumentException>(() => GgmlCodec.Quantize(GgmlType.Q8_0, new float[33]));
        Assert.Equal(BlockQ4_0.BlockBytes, GgmlType.Q4_0.BlockBytes());
    }
}
