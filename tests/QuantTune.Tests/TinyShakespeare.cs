namespace QuantTune.Tests;

/// <summary>The tiny-shakespeare text copied beside the tests, and the slices of it that tests train on.</summary>
public static class TinyShakespeare
{
    /// <summary>The whole file.</summary>
    public static string FilePath => Path.Combine(AppContext.BaseDirectory, "assets", "data", "tiny-shakespeare.txt");

    /// <summary>The whole text.</summary>
    public static string Text => File.ReadAllText(FilePath);

    /// <summary>Writes the first <paramref name="characters"/> characters to <paramref name="path"/> unless it exists, and returns the path.</summary>
    public static string WriteSlice(string path, int characters)
    {
        if (!File.Exists(path)) File.WriteAllText(path, Text[..characters]);
        return path;
    }
}
