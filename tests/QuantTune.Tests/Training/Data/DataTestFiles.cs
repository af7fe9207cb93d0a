using QuantTune.Tokenization;

namespace QuantTune.Tests.Training.Data;

/// <summary>A temp folder for small data files, and the tiny-llama tokenizer (byte-level BPE, BOS 1, EOS 2, PAD 3).</summary>
public sealed class DataTestFiles : IDisposable
{
    private static readonly Lazy<HfTokenizer> LazyTokenizer = new(() => HfTokenizer.FromDirectory(TestData.TinyLlamaDir));

    private readonly string _dir = Directory.CreateTempSubdirectory("qt-data-").FullName;

    public static HfTokenizer Tokenizer => LazyTokenizer.Value;

    public string Write(string name, string content)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
