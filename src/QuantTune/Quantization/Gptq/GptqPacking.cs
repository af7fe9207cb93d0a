using QuantTune.Diagnostics;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Gptq;

/// <summary>
/// The int32 packing of the GPTQ checkpoint layout (AutoGPTQ's QuantLinear.pack): along one
/// dimension, every 32 codes of b bits fill b consecutive int32 words as a little-endian bit
/// stream — code k occupies stream bits [k·b, (k+1)·b) and stream bit j is bit j mod 32 of word
/// j / 32. For 2, 4 and 8 bits no code crosses a word; for 3 bits codes 10 and 21 of each 32
/// straddle two words, as AutoGPTQ lays them out.
/// </summary>
public static class GptqPacking
{
    /// <summary>Packs unsigned codes [n, m] (integer dtype, values &lt; 2^bits) along dim 0 into int32 [n·bits/32, m]; n must be a multiple of 32.</summary>
    public static Tensor PackRows(Tensor codes, int bits, string what = "codes")
    {
        long n = codes.shape[0], m = codes.shape[1];
        if (n % 32 != 0) throw new QuantTuneException($"GPTQ layout: {what} has {n} entries along the packed dimension; the int32 packing needs a multiple of 32");
        using var scope = NewDisposeScope();
        var values = codes.to_type(ScalarType.Int64).bitwise_and((1L << bits) - 1).view(n / 32, 32, m);
        var words = zeros(new[] { n / 32, (long)bits, m }, ScalarType.Int64, codes.device);
        for (int k = 0; k < 32; k++)
        {
            int bit = k * bits, word = bit / 32, shift = bit % 32;
            var v = values.select(1, k);
            words.select(1, word).bitwise_or_(Shift(v, shift).bitwise_and_(0xFFFFFFFFL));
            if (shift + bits > 32) words.select(1, word + 1).bitwise_or_(Shift(v, -(32 - shift)));
        }
        // Unsigned 32-bit words to int32 (two's complement).
        var signed = words.sub(words.AtLeast(1L << 31).to_type(ScalarType.Int64).TimesInPlace(1L << 32));
        return signed.view(n / 32 * bits, m).to_type(ScalarType.Int32).MoveToOuterDisposeScope();
    }

    /// <summary>The inverse of <see cref="PackRows"/>: int32 [n·bits/32, m] to unsigned codes int64 [n, m].</summary>
    public static Tensor UnpackRows(Tensor packed, int bits, string what = "packed codes")
    {
        if (packed.dtype != ScalarType.Int32) throw new QuantTuneException($"GPTQ layout: {what} is {packed.dtype}; expected int32");
        long rows = packed.shape[0], m = packed.shape[1];
        if (rows % bits != 0) throw new QuantTuneException($"GPTQ layout: {what} has {rows} int32 rows; {bits}-bit packing needs a multiple of {bits}");
        using var scope = NewDisposeScope();
        var words = packed.to_type(ScalarType.Int64).bitwise_and(0xFFFFFFFFL).view(rows / bits, bits, m);
        var codes = empty(new[] { rows / bits, 32L, m }, ScalarType.Int64, packed.device);
        long mask = (1L << bits) - 1;
        for (int k = 0; k < 32; k++)
        {
            int bit = k * bits, word = bit / 32, shift = bit % 32;
            var v = Shift(words.select(1, word), -shift);
            if (shift + bits > 32) v = v.bitwise_or(Shift(words.select(1, word + 1), 32 - shift));
            codes.select(1, k).copy_(v.bitwise_and_(mask));
        }
        return codes.view(rows / bits * 32, m).MoveToOuterDisposeScope();
    }

    /// <summary>x shifted left by <paramref name="bits"/> (right when negative), int64.</summary>
    static Tensor Shift(Tensor x, int bits)
    {
        using var amount = tensor((long)Math.Abs(bits), ScalarType.Int64, x.device);
        return bits >= 0 ? x.bitwise_left_shift(amount) : x.bitwise_right_shift(amount);
    }
}
