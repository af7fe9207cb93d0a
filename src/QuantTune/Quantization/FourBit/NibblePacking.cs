using static TorchSharp.torch;

namespace QuantTune.Quantization.FourBit;

/// <summary>
/// Two 4-bit codes per byte in bitsandbytes' order: byte = (q[2i] &lt;&lt; 4) | q[2i+1], the first
/// element in the high nibble. An odd count is padded with a zero code. Stored as [bytes, 1],
/// the shape bitsandbytes gives <c>Params4bit</c> data.
/// </summary>
public static class NibblePacking
{
    public static Tensor Pack(Tensor codes)
    {
        using var scope = NewDisposeScope();
        var flat = codes.flatten().to_type(ScalarType.Byte);
        if (flat.numel() % 2 == 1) flat = cat([flat, zeros(1, ScalarType.Byte, flat.device)]);
        var pairs = flat.view(-1, 2);
        var packed = pairs[.., 0].bitwise_left_shift(4).bitwise_or(pairs[.., 1]);
        return packed.unsqueeze(1).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>The first <paramref name="count"/> codes of a packed tensor, as uint8.</summary>
    public static Tensor Unpack(Tensor packed, long count)
    {
        using var scope = NewDisposeScope();
        var bytes = packed.flatten();
        var high = bytes.bitwise_right_shift(4);
        var low = bytes.bitwise_and(0x0F);
        var codes = stack([high, low], 1).flatten().narrow(0, 0, count);
        return codes.MoveToOuterDisposeScope();
    }
}
