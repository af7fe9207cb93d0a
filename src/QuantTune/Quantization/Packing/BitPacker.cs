using QuantTune.Diagnostics;
using QuantTune.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Packing;

/// <summary>
/// Packs unsigned k-bit codes (k = 2..8) densely into bytes and back, with torch ops only, so a
/// 4096×4096 weight packs in a fraction of a second on the tensor's own device.
/// <para>Bit order. For k = 4 the bitsandbytes nibble order: byte i = (q[2i] &lt;&lt; 4) | q[2i+1], the
/// first element in the HIGH nibble, so 4-bit codes can be read by kernels written for that layout.
/// For k = 8 the bytes are the codes. For every other k a little-endian bit stream: code i
/// occupies stream bits [i·k, (i+1)·k), its least significant bit first, and stream bit j is bit
/// (j mod 8) of byte j / 8. The last byte's unused high bits are zero.</para>
/// <para>Either way the packed form of n codes is exactly <see cref="PackedLength"/>(n, k) bytes; the
/// count n is not stored and must be given back to <see cref="Unpack"/>.</para>
/// </summary>
public static class BitPacker
{
    /// <summary>Bytes needed for <paramref name="count"/> codes of <paramref name="bits"/> bits: ceil(count·bits / 8).</summary>
    public static long PackedLength(long count, int bits)
    {
        CheckBits(bits, nameof(PackedLength));
        return (count * bits + 7) / 8;
    }

    /// <summary>
    /// Packs the codes of <paramref name="codes"/> (any shape, read flattened in row-major order,
    /// any integer dtype, values in [0, 2^bits)) into a 1-D uint8 tensor of
    /// <see cref="PackedLength"/> bytes on the same device. Values outside the range are not
    /// checked (that would cost a pass and a device sync); their excess bits are dropped.
    /// </summary>
    public static Tensor Pack(Tensor codes, int bits)
    {
        CheckBits(bits, nameof(Pack));
        using var scope = NewDisposeScope();
        var flat = codes.flatten();
        long n = flat.numel();
        Tensor packed;
        if (bits == 8)
        {
            packed = flat.to_type(ScalarType.Byte).clone();
        }
        else if (bits == 4)
        {
            // bitsandbytes order: the even element in the high nibble.
            var pairs = PadTo(flat.to_type(ScalarType.Byte), 2).view(-1, 2);
            packed = pairs.select(1, 0).bitwise_and(0x0F).Times(16).bitwise_or_(pairs.select(1, 1).bitwise_and(0x0F));
        }
        else
        {
            // Groups of 8 codes are 8·k bits = k whole bytes: build each group's word in an int64
            // (at most 56 bits for k ≤ 7), then cut it into k little-endian bytes.
            var device = flat.device;
            var mask = (1L << bits) - 1;
            var groups = PadTo(flat.to_type(ScalarType.Int64), 8).view(-1, 8).bitwise_and(mask);
            var codeShifts = PinnedScalarMath.Arange(0, 8 * bits, bits, ScalarType.Int64, device);
            var words = groups.bitwise_left_shift(codeShifts).sum(new long[] { 1 }, keepdim: true, type: ScalarType.Int64);
            var byteShifts = PinnedScalarMath.Arange(0, 8 * bits, 8, ScalarType.Int64, device);
            packed = words.bitwise_right_shift(byteShifts).bitwise_and_(0xFF).to_type(ScalarType.Byte).flatten();
        }
        return packed.narrow(0, 0, PackedLength(n, bits)).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Unpacks the first <paramref name="count"/> codes of <paramref name="bits"/> bits from
    /// <paramref name="packed"/> (1-D uint8 of at least <see cref="PackedLength"/>(count, bits)
    /// bytes, as <see cref="Pack"/> wrote it) into a 1-D uint8 tensor of length <paramref name="count"/>.
    /// </summary>
    public static Tensor Unpack(Tensor packed, int bits, long count)
    {
        CheckBits(bits, nameof(Unpack));
        if (packed.dtype != ScalarType.Byte)
            throw new QuantTuneException($"packed codes: dtype is {packed.dtype}; expected uint8 (Byte)");
        long needed = PackedLength(count, bits);
        if (packed.numel() < needed)
            throw new QuantTuneException($"packed codes: {packed.numel()} bytes hold fewer than {count} codes of {bits} bits; expected at least {needed} bytes");
        using var scope = NewDisposeScope();
        var bytes = packed.flatten().narrow(0, 0, needed);
        Tensor codes;
        if (bits == 8)
        {
            codes = bytes.clone();
        }
        else if (bits == 4)
        {
            codes = stack(new[] { bytes.bitwise_right_shift(tensor((byte)4, device: bytes.device)), bytes.bitwise_and(0x0F) }, 1).flatten();
        }
        else
        {
            var device = bytes.device;
            var groups = PadTo(bytes.to_type(ScalarType.Int64), bits).view(-1, bits);
            var byteShifts = PinnedScalarMath.Arange(0, 8 * bits, 8, ScalarType.Int64, device);
            var words = groups.bitwise_left_shift(byteShifts).sum(new long[] { 1 }, keepdim: true, type: ScalarType.Int64);
            var codeShifts = PinnedScalarMath.Arange(0, 8 * bits, bits, ScalarType.Int64, device);
            codes = words.bitwise_right_shift(codeShifts).bitwise_and_((1L << bits) - 1).to_type(ScalarType.Byte).flatten();
        }
        return codes.narrow(0, 0, count).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Appends zeros so the length is a multiple of <paramref name="multiple"/>.</summary>
    static Tensor PadTo(Tensor flat, long multiple)
    {
        long extra = (multiple - flat.numel() % multiple) % multiple;
        return extra == 0 ? flat : cat(new[] { flat, zeros(extra, flat.dtype, flat.device) }, 0);
    }

    static void CheckBits(int bits, string method)
    {
        if (bits is < 2 or > 8)
            throw new InvalidSettingException($"BitPacker.{method}(bits)", bits, "cannot be packed; expected 2..8");
    }
}
