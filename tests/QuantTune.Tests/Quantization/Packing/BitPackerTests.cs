using QuantTune.Diagnostics;
using QuantTune.Quantization.Packing;
using static TorchSharp.torch;

namespace QuantTune.Tests.Quantization.Packing;

/// <summary>
/// BitPacker against hand-computed bytes and an independent bit-by-bit packer written from the
/// documented order (little-endian bit stream; bitsandbytes nibbles for 4 bits).
/// </summary>
public sealed class BitPackerTests
{
    static byte[] RandomCodes(int count, int bits, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (byte)random.Next(1 << bits)).ToArray();
    }

    static byte[] Bytes(Tensor t) => t.cpu().data<byte>().ToArray();

    /// <summary>The documented order, one bit at a time.</summary>
    static byte[] NaivePack(byte[] codes, int bits)
    {
        var packed = new byte[(codes.Length * bits + 7) / 8];
        if (bits == 4)
        {
            for (int i = 0; i < codes.Length; i++)
                packed[i / 2] |= (byte)(i % 2 == 0 ? codes[i] << 4 : codes[i]);
            return packed;
        }
        for (int i = 0; i < codes.Length; i++)
            for (int b = 0; b < bits; b++)
            {
                long bit = (long)i * bits + b;
                if (((codes[i] >> b) & 1) != 0) packed[bit / 8] |= (byte)(1 << (int)(bit % 8));
            }
        return packed;
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void RoundTripsRandomCodesAndMatchesTheDocumentedBitOrder(int bits)
    {
        foreach (int count in new[] { 1, 7, 8, 1001, 4096 })
        {
            var codes = RandomCodes(count, bits, seed: bits * 10_000 + count);
            using var input = tensor(codes);
            using var packed = BitPacker.Pack(input, bits);
            Assert.Equal(ScalarType.Byte, packed.dtype);
            Assert.Equal(BitPacker.PackedLength(count, bits), packed.numel());
            Assert.Equal(NaivePack(codes, bits), Bytes(packed));
            using var unpacked = BitPacker.Unpack(packed, bits, count);
            Assert.Equal(codes, Bytes(unpacked));
        }
    }

    [Fact]
    public void FourBitsUseTheBitsandbytesNibbleOrder()
    {
        using var packed = BitPacker.Pack(tensor(new byte[] { 1, 2, 3, 4 }), 4);
        Assert.Equal(new byte[] { 0x12, 0x34 }, Bytes(packed));
        using var odd = BitPacker.Pack(tensor(new byte[] { 0xF, 0x0, 0xA }), 4);
        Assert.Equal(new byte[] { 0xF0, 0xA0 }, Bytes(odd));
    }

    [Fact]
    public void TwoAndThreeBitsAreALittleEndianBitStream()
    {
        // 2 bits: 1 | 2<<2 | 3<<4 | 0<<6 = 0x39, then 2 alone.
        using var two = BitPacker.Pack(tensor(new byte[] { 1, 2, 3, 0, 2 }), 2);
        Assert.Equal(new byte[] { 0x39, 0x02 }, Bytes(two));
        // 3 bits: 7 in bits 0-2, 1 in bits 3-5, 2 (binary 010) in bits 6-8: byte 0 = 0b1000_1111, bit 8 = 0.
        using var three = BitPacker.Pack(tensor(new byte[] { 7, 1, 2 }), 3);
        Assert.Equal(new byte[] { 0x8F, 0x00 }, Bytes(three));
        using var threeHigh = BitPacker.Pack(tensor(new byte[] { 0, 0, 5 }), 3);
        Assert.Equal(new byte[] { 0x40, 0x01 }, Bytes(threeHigh)); // 5 = 0b101 at bits 6..8
    }

    [Fact]
    public void EightBitsAreTheIdentity()
    {
        var codes = RandomCodes(333, 8, seed: 8);
        using var packed = BitPacker.Pack(tensor(codes).view(3, 111), 8);
        Assert.Equal(codes, Bytes(packed));
    }

    [Fact]
    public void AcceptsWiderIntegerCodeTensors()
    {
        using var packed = BitPacker.Pack(tensor(new long[] { 3, 1, 2, 0 }), 2);
        Assert.Equal(new byte[] { 0b00_10_01_11 }, Bytes(packed));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(9)]
    public void RejectsBitsOutsideTwoToEight(int bits)
    {
        var e = Assert.Throws<InvalidSettingException>(() => BitPacker.Pack(tensor(new byte[] { 1 }), bits));
        Assert.Contains("BitPacker.Pack(bits)", e.Message);
        Assert.Contains(bits.ToString(), e.Message);
    }

    [Fact]
    public void UnpackRejectsTooFewBytes()
    {
        var e = Assert.Throws<QuantTuneException>(() => BitPacker.Unpack(tensor(new byte[] { 1, 2 }), 3, 6));
        Assert.Contains("3 bytes", e.Message);
    }
}
