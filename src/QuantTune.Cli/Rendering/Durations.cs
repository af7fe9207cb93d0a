namespace QuantTune.Cli.Rendering;

/// <summary>Durations as people read them in logs: m:ss under an hour, h:mm:ss from one hour, with days beyond.</summary>
public static class Durations
{
    public static string Format(TimeSpan t)
    {
        if (t < TimeSpan.Zero) t = TimeSpan.Zero;
        if (t.TotalDays >= 1) return $"{(int)t.TotalDays}d {t.Hours}:{t.Minutes:00}:{t.Seconds:00}";
        if (t.TotalHours >= 1) return $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}";
        return $"{t.Minutes}:{t.Seconds:00}";
    }
}
