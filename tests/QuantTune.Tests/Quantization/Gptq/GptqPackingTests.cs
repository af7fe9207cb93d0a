using QuantTune.Quantization.Gptq;
using static TorchSharp.torch;

namespace QuantTune.Tests.Quantization.Gptq;

/// <summary>The int32 packing of qweight/qzeros against AutoGPTQ's QuantLinear.pack loops, re-written here as scalar code.</summary>
public sealed class GptqPackingTests
{
    /// <summary>AutoGPTQ's packing of intweight [n, m] (uint32 arithmetic) into words [n·bits/32, m], row block by row block.</summary>
    static uint[,] AutoGptqPack(long[,] v, int bits)
    {
        int n = v.GetLength(0), m = v.GetLength(1);
        var q = new uint[n / 32 * bits, m];
        for (int c = 0; c < m; c++)
        {
            int i = 0, row = 0;
            uint V(int r) => (uint)v[r, c];
            while (row < q.GetLength(0))
            {
                if (bits != 3)
                {
                    for (int j = i; j < i + 32 / bits; j++) q[row, c] |= V(j) << (bits * (j - i));
                    i += 32 / bits;
                    row++;
                    continue;
                }
                for (int j = i; j < i + 10; j++) q[row, c] |= V(j) << (3 * (j - i));
                i += 10;
                q[row, c] |= V(i) << 30;
                row++;
                q[row, c] |= (V(i) >> 2) & 1;
                i++;
                for (int j = i; j < i + 10; j++) q[row, c] |= V(j) << (3 * (j - i) + 1);
                i += 10;
                q[row, c] |= V(i) << 31;
                row++;
                q[row, c] |= (V(i) >> 1) & 0x3;
                i++;
                for (int j = i; j < i + 10; j++) q[row, c] |= V(j) << (3 * (j - i) + 2);
                i += 10;
                row++;
            }
        }
        return q;
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(8)]
    public void PackRowsMatchesAutoGptqAndUnpacksBack(int bits)
    {
        const int n = 96, m = 5;
        var random = new Random(bits);
        var values = new long[n, m];
        var flat = new long[n * m];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < m; c++) flat[r * m + c] = values[r, c] = random.Next(1 << bits);
        var codes = tensor(flat, [n, m]);
        var packed = GptqPacking.PackRows(codes, bits);
        Assert.Equal(ScalarType.Int32, packed.dtype);
        Assert.Equal(new long[] { n * bits / 32, m }, packed.shape);
        var expected = AutoGptqPack(values, bits);
        var actual = packed.data<int>().ToArray();
        for (int r = 0; r < expected.GetLength(0); r++)
            for (int c = 0; c < m; c++) Assert.Equal(unchecked((int)expected[r, c]), actual[r * m + c]);
        Assert.Equal(flat, GptqPacking.UnpackRows(packed, bits).data<long>().ToArray());
    }

    [Fact]
    public void ALengthThatIsNotAMultipleOf32IsRefused()
    {
        var e = Assert.Throws<QuantTune.Diagnostics.QuantTuneException>(() => GptqPacking.PackRows(zeros(40, 3, ScalarType.Int64), 4, "'x' (in features)"));
        Assert.Contains("'x' (in features)", e.Message);
        Assert.Contains("multiple of 32", e.Message);
    }
}
