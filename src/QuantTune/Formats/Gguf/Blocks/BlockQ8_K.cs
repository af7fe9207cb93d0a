using System.Buffers.Binary;

namespace QuantTune.Formats.Gguf.Blocks;

/// <summary>
/// Q8_K (ggml-common.h <c>block_q8_K</c>), the activation format the k-quant dot products take: 256 elements in
/// 292 bytes, a float32 d, 256 int8 q, then sixteen int16 <c>bsums</c> (the sum of each 16 q); x = d * q.
/// It is never stored in a file (ggml has no GGUF id for it in use), so it is not a <see cref="GgmlType"/>.
/// <see cref="QuantizeRow"/> is <c>quantize_row_q8_K_ref</c>, byte for byte.
/// </summary>
public static class BlockQ8_K
{
    public const int BlockSize = GgmlTypes.QK_K;
    public const int BlockBytes = 4 + BlockSize + BlockSize / 16 * 2;
    public const int QsAt = 4, BsumsAt = 4 + BlockSize;

    /// <summary>
    /// <c>quantize_row_q8_K_ref</c>: d = max / -127 with max the signed element of largest magnitude, q =
    /// min(127, nearest_int(x * -127 / max)). An all-zero block gets d = 0 and zero q (and, here, zero bsums).
    /// </summary>
    public static void QuantizeRow(ReadOnlySpan<float> x, Span<byte> y)
    {
        int nb = BlockMath.CheckedBlocks("Q8_K", BlockSize, BlockBytes, x.Length, y.Length);
        for (int i = 0; i < nb; i++)
            QuantizeBlock(x.Slice(i * BlockSize, BlockSize), y.Slice(i * BlockBytes, BlockBytes));
    }

    static void QuantizeBlock(ReadOnlySpan<float> x, Span<byte> y)
    {
        float max = 0, amax = 0;
        for (int j = 0; j < BlockSize; ++j)
        {
            float ax = MathF.Abs(x[j]);
            if (ax > amax) { amax = ax; max = x[j]; }
        }
        if (amax == 0)
        {
            y.Clear();
            return;
        }
        float iscale = -127.0f / max;
        var qs = y.Slice(QsAt, BlockSize);
        for (int j = 0; j < BlockSize; ++j)
            qs[j] = unchecked((byte)(sbyte)Math.Min(127, KQuantMath.NearestInt(iscale * x[j])));
        for (int j = 0; j < BlockSize / 16; ++j)
        {
            int sum = 0;
            for (int ii = 0; ii < 16; ++ii) sum += (sbyte)qs[j * 16 + ii];
            BinaryPrimitives.WriteInt16LittleEndian(y[(BsumsAt + 2 * j)..], (short)sum);
        }
        BinaryPrimitives.WriteSingleLittleEndian(y, 1 / iscale);
    }

    /// <summary><c>dequantize_row_q8_K</c>: y = d * q.</summary>
    public static void DequantizeRow(ReadOnlySpan<byte> x, Span<float> y)
    {
        int nb = BlockMath.CheckedBlocks("Q8_K", BlockSize, BlockBytes, y.Length, x.Length);
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockBytes, BlockBytes);
            float d = BinaryPrimitives.ReadSingleLittleEndian(xb);
            for (int j = 0; j < BlockSize; ++j) y[i * BlockSize + j] = d * (sbyte)xb[QsAt + j];
        }
    }
}
