namespace QuantTune.Quantization.FourBit;

/// <summary>
/// bitsandbytes' signed 8-bit dynamic data type (<c>create_dynamic_map(signed=True)</c>): for each
/// decimal exponent 10^-6 … 10^0, the midpoints of an evenly divided [0.1, 1] interval, mirrored
/// for negatives, plus 0 and 1 — 256 sorted values. Double quantization stores the centred
/// absmax constants as indices into this table.
/// </summary>
public static class DynamicMap
{
    public static readonly float[] Signed = Create();

    static float[] Create()
    {
        const int maxExponentBits = 7, nonSignBits = 7;
        var data = new List<float>();
        for (int i = 0; i < maxExponentBits; i++)
        {
            int fractionItems = (1 << (i + nonSignBits - maxExponentBits)) + 1;
            // torch.linspace(0.1, 1, n, dtype=float32): start + k·(end − start)/(n − 1), computed in float32.
            var boundaries = Linspace(0.1f, 1f, fractionItems);
            // (10 ** e) * means: a float32 tensor times a Python scalar is computed in float32.
            float scale = (float)Math.Pow(10, -(maxExponentBits - 1) + i);
            for (int k = 0; k + 1 < boundaries.Length; k++)
            {
                float mean = (boundaries[k] + boundaries[k + 1]) / 2f;
                data.Add(scale * mean);
                data.Add(-(scale * mean));
            }
        }
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
