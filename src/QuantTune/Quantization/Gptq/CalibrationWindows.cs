using QuantTune.Diagnostics;

namespace QuantTune.Quantization.Gptq;

/// <summary>Calibration samples as gptq.py draws them: windows of T consecutive tokens at seeded random starts.</summary>
public static class CalibrationWindows
{
    public static IReadOnlyList<long[]> Sample(IReadOnlyList<int> ids, int count, int length, int seed = 0, string source = "calibration text")
    {
        if (count < 1) throw new InvalidSettingException("CalibrationWindows.Sample(count)", count, "expected at least 1 calibration sample");
        if (length < 1) throw new InvalidSettingException("CalibrationWindows.Sample(length)", length, "expected at least 1 token per sample");
        if (ids.Count < length)
            throw new InvalidSettingException("CalibrationWindows.Sample(length)", length, $"{source} has {ids.Count} tokens, fewer than one sample; give longer calibration text or a smaller length");
        var random = new Random(seed);
        var windows = new List<long[]>(count);
        for (int k = 0; k < count; k++)
        {
            int start = random.Next(ids.Count - length + 1);
            var window = new long[length];
            for (int i = 0; i < length; i++) window[i] = ids[start + i];
            windows.Add(window);
        }
        return windows;
    }
}
