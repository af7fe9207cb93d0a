namespace QuantTune.Tests.Quantization.Integer;

/// <summary>
/// dequant(quant(x)) written as plain scalar loops straight from docs/design.md §4, in float32 like the
/// library (so results must agree bit for bit), with round half to even (MathF.Round ToEven).
/// Groups are index ranges of the flattened array; a short last block simply has fewer elements.
/// </summary>
internal static class NaiveIntegerReference
{
    public static float[] RoundTrip(float[] x, long rows, int bits, bool absmax, string granularity, int block = 0)
    {
        var result = new float[x.Length];
        foreach (var (start, end) in Groups(x.Length, rows, granularity, block))
        {
            if (absmax)
            {
                float alpha = 0;
                for (int i = start; i < end; i++) alpha = MathF.Max(alpha, MathF.Abs(x[i]));
                int qmax = (1 << (bits - 1)) - 1;
                float s = qmax / alpha;
                if (!float.IsFinite(s)) s = 1; // all-zero group
                for (int i = start; i < end; i++)
                {
                    int q = (int)Math.Clamp(MathF.Round(s * x[i], MidpointRounding.ToEven), -qmax, qmax); // an integer code: no -0
                    result[i] = q / s;
                }
            }
            else
            {
                float min = float.PositiveInfinity, max = float.NegativeInfinity;
                for (int i = start; i < end; i++)
                {
                    min = MathF.Min(min, x[i]);
                    max = MathF.Max(max, x[i]);
                }
                if (min == max) { min = MathF.Min(min, 0); max = MathF.Max(max, 0); } // constant group: include 0
                int half = 1 << (bits - 1);
                float s = ((1 << bits) - 1) / (max - min);
                if (!float.IsFinite(s)) s = 1;
                float z = MathF.Round(-(s * min), MidpointRounding.ToEven) - half;
                for (int i = start; i < end; i++)
                {
                    int q = (int)Math.Clamp(MathF.Round(s * x[i] + z, MidpointRounding.ToEven), -half, half - 1);
                    result[i] = (q - z) / s;
                }
            }
        }
        return result;
    }

    static IEnumerable<(int Start, int End)> Groups(int n, long rows, string granularity, int block)
    {
        switch (granularity)
        {
            case "tensor":
                yield return (0, n);
                break;
            case "channel":
                int width = (int)(n / rows);
                for (int r = 0; r < rows; r++) yield return (r * width, (r + 1) * width);
                break;
            default:
                for (int start = 0; start < n; start += block) yield return (start, Math.Min(n, start + block));
                break;
        }
    }

    /// <summary>Standard normal samples (Box–Muller) from a seeded <see cref="Random"/>, independent of torch's generator.</summary>
    public static float[] Normal(int count, int seed, float mean = 0, float std = 1)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            double u1 = 1 - random.NextDouble(), u2 = random.NextDouble();
            values[i] = mean + std * (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return values;
    }

    public static double Mse(float[] a, float[] b, Func<int, bool>? include = null)
    {
        double sum = 0;
        int count = 0;
        for (int i = 0; i < a.Length; i++)
        {
            if (include is not null && !include(i)) continue;
            double d = (double)a[i] - b[i];
            sum += d * d;
            count++;
        }
        return sum / count;
    }
}
