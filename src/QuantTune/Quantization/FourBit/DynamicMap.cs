namespace QuantTune.Quantization.FourBit;

/// <summary>
/// bitsandbytes' 8-bit dynamic data types (<c>create_dynamic_map</c>): for each decimal exponent
/// 10^-6 … 10^0, the midpoints of an evenly divided [0.1, 1] interval, plus 0 and 1 — 256
/// sorted values. The signed map mirrors 2^i midpoints per exponent for negatives; the unsigned
/// map spends that sign bit on twice as many positive midpoints (2^(i+1) per exponent).
/// Double quantization stores the centred absmax constants as indices into the signed table;
/// 8-bit Adam stores its first moment with the signed and its second moment (never negative)
/// with the unsigned table.
/// </summary>
public static class DynamicMap
{
    /// <summary><c>create_dynamic_map(signed=True)</c>: 127 negative values, 0, 127 positive values and 1.</summary>
    public static readonly float[] Signed = Create(signed: true);

    /// <summary><c>create_dynamic_map(signed=False)</c>: 0, 254 positive values and 1.</summary>
    public static readonly float[] Unsigned = Create(signed: false);

    static float[] Create(bool signed)
    {
        const int maxExponentBits = 7, nonSignBits = 7;
        var data = new List<float>();
        for (int i = 0; i < maxExponentBits; i++)
        {
            int fractionItems = signed
                ? (1 << (i + nonSignBits - maxExponentBits)) + 1
                : (1 << (i + nonSignBits - maxExponentBits + 1)) + 1;
            // torch.linspace(0.1, 1, n, dtype=float32): start + k·(end − start)/(n − 1), computed in float32.
            var boundaries = Linspace(0.1f, 1f, fractionItems);
            // (10 ** e) * means: a float32 tensor times a Python scalar is computed in float32.
            float scale = (float)Math.Pow(10, -(maxExponentBits - 1) + i);
            for (int k = 0; k + 1 < boundaries.Length; k++)
            {
                float mean = (boundaries[k] + boundaries[k + 1]) / 2f;
                data.Add(scale * mean);
                if (signed) data.Add(-(scale * mean));
            }
        }
        // With 7 non-sign bits and 7 exponent bits, bitsandbytes' "additional items" are 2^0 − 1 = 0.
        data.Add(0f);
        data.Add(1f);
        data.Sort();
        return data.ToArray();
    }

    static float[] Linspace(float start, float end, int steps)
    {
        var result = new float[steps];
        float step = (end - start) / (steps - 1);
        // torch fills the first half from start and the second half from end, to keep the ends exact.
        int half = steps / 2;
        for (int k = 0; k < steps; k++)
            result[k] = k < half ? start + step * k : end - step * (steps - 1 - k);
        return result;
    }
}
