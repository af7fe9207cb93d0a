using System.Text.Json;

namespace QuantTune.Tests.Training.Alignment;

/// <summary>
/// A preference set built from Tiny Shakespeare: the prompt is a stretch of the text, the chosen completion the text
/// that truly follows it, the rejected one the same characters shuffled (a corrupted copy of equal length).
/// Training pairs come from the start of the text, held-out pairs from further on.
/// </summary>
internal static class PreferenceSet
{
    static string Text => TinyShakespeare.Text;

    /// <summary>Writes <paramref name="count"/> pairs taken from character <paramref name="from"/> on; returns the path.</summary>
    public static string Write(string path, int count, int from, int seed)
    {
        var text = Text;
        var random = new Random(seed);
        var lines = new List<string>();
        for (int i = 0; i < count; i++)
        {
            int at = from + i * 97;
            string prompt = text.Substring(at, 48), chosen = text.Substring(at + 48, 24);
            var shuffled = chosen.ToCharArray();
            random.Shuffle(shuffled);
            lines.Add(JsonSerializer.Serialize(new { prompt, chosen, rejected = new string(shuffled) }));
        }
        File.WriteAllLines(path, lines);
        return path;
    }

    /// <summary>The same pairs as unpaired records (KTO), chosen desirable and rejected undesirable.</summary>
    public static string WriteUnpaired(string path, int count, int from, int seed)
    {
        var paired = Write(path + ".pairs", count, from, seed);
        var lines = new List<string>();
        foreach (var line in File.ReadAllLines(paired))
        {
            using var doc = JsonDocument.Parse(line);
            string prompt = doc.RootElement.GetProperty("prompt").GetString()!;
            lines.Add(JsonSerializer.Serialize(new { prompt, completion = doc.RootElement.GetProperty("chosen").GetString(), label = true }));
            lines.Add(JsonSerializer.Serialize(new { prompt, completion = doc.RootElement.GetProperty("rejected").GetString(), label = false }));
        }
        File.WriteAllLines(path, lines);
        return path;
    }
}
