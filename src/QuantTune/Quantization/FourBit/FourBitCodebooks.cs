namespace QuantTune.Quantization.FourBit;

/// <summary>The 4-bit data types of bitsandbytes, as it stores them in <c>quant_map</c>.</summary>
public enum FourBitType { NF4, FP4 }

/// <summary>
/// The 16 code values of NF4 (normal-float: quantiles of N(0, 1) scaled to [-1, 1], with an
/// exact zero) and FP4 (E2M1 in bitsandbytes' bit-pattern order, divided by its absmax 12),
/// exactly as bitsandbytes defines them. Index = the 4-bit code.
/// </summary>
public static class FourBitCodebooks
{
    public static readonly float[] NF4 =
    [
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
        0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
    ];

    public static readonly float[] FP4 =
        new float[] { 0, 0.0625f, 8, 12, 4, 6, 2, 3, -0f, -0.0625f, -8, -12, -4, -6, -2, -3 }.Select(v => v / 12f).ToArray();

    public static float[] For(FourBitType type) => type == FourBitType.NF4 ? NF4 : FP4;

    public static string Name(FourBitType type) => type == FourBitType.NF4 ? "nf4" : "fp4";
}
