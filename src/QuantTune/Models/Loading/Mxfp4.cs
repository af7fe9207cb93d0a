using static TorchSharp.torch;

namespace QuantTune.Models.Loading;

/// <summary>
/// OCP microscaling FP4 (MXFP4) as gpt-oss's checkpoints store their experts (transformers' integrations/mxfp4.py,
/// convert_moe_packed_tensors): each row is blocks of <see cref="BlockSize"/> FP4 (E2M1) values packed two per byte,
/// the low nibble first, and one E8M0 exponent per block, a byte e standing for 2^(e − 127).
/// </summary>
public static class Mxfp4
{
    /// <summary>The values that share one exponent.</summary>
    public const int BlockSize = 32;

    /// <summary>E2M1's sixteen values by nibble: sign in bit 3, then 0, 0.5, 1, 1.5, 2, 3, 4, 6.</summary>
    static readonly float[] Fp4 = [0f, 0.5f, 1f, 1.5f, 2f, 3f, 4f, 6f, -0f, -0.5f, -1f, -1.5f, -2f, -3f, -4f, -6f];

    /// <summary>
    /// The fp32 values [rows, 2 × bytes] of packed blocks [rows, bytes] (uint8) under exponents [rows, bytes / 16] (uint8):
    /// byte j of a row holds values 2j (low nibble) and 2j + 1 (high nibble), scaled by the exponent of block j / 16.
    /// </summary>
    public static Tensor Dequantize(Tensor blocks, Tensor scales)
    {
        long rows = blocks.shape[0], bytes = blocks.shape[1], groups = scales.shape[1];
        if (scales.shape[0] != rows || bytes != groups * (BlockSize / 2))
            throw new ArgumentException($"MXFP4 blocks [{rows}, {bytes}] do not match exponents [{scales.shape[0]}, {groups}]");
        var packed = blocks.contiguous().data<byte>().ToArray();
        var exponents = scales.contiguous().data<byte>().ToArray();
        var values = new float[rows * bytes * 2];
        Parallel.For(0, rows, r =>
        {
            for (long g = 0; g < groups; g++)
            {
                float scale = MathF.ScaleB(1f, exponents[r * groups + g] - 127);
                for (long j = g * (BlockSize / 2); j < (g + 1) * (BlockSize / 2); j++)
                {
                    byte b = packed[r * bytes + j];
                    values[2 * (r * bytes + j)] = Fp4[b & 0x0F] * scale;
                    values[2 * (r * bytes + j) + 1] = Fp4[b >> 4] * scale;
                }
            }
        });
        return tensor(values, [rows, 2 * bytes]);
    }
}
