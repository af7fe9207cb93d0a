using System.Text;
using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.Models.Config;
using QuantTune.Peft;
using QuantTune.Tokenization;
using QuantTune.Training.Checkpoints;

namespace QuantTune.Tests.IO;

/// <summary>Every JSON file a user gives: invalid UTF-8 inside a string and a root of the wrong kind are errors naming the file.</summary>
public sealed class JsonFileTests() : TempFolderTest("quanttune-json-")
{
    static readonly byte[] InvalidUtf8InString = [.. "{\"model_type\": \"lla"u8, 0x80, .. "ma\"}"u8];

    public static TheoryData<string> Readers => ["config.json", "tokenizer.json", "adapter_config.json", "model.safetensors.index.json", "trainer_state.json"];

    void Read(string reader, string path)
    {
        switch (reader)
        {
            case "config.json": ModelConfig.Load(path); break;
            case "tokenizer.json": HfTokenizer.FromFile(path); break;
            case "adapter_config.json": AdapterConfig.Load(path); break;
            case "model.safetensors.index.json": SafetensorsCheckpoint.Open(Path.GetDirectoryName(path)!).Dispose(); break;
            case "trainer_state.json": TrainingCheckpoint.ReadState(Path.GetDirectoryName(Path.GetDirectoryName(path)!)!); break;
        }
    }

    string Write(string reader, byte[] content)
    {
        var path = reader == "trainer_state.json" ? TrainingCheckpoint.StatePathIn(Dir) : Path.Combine(Dir, reader);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return path;
    }

    [Theory]
    [MemberData(nameof(Readers))]
    public void InvalidUtf8InsideAStringNamesTheFileAndTheByte(string reader)
    {
        var path = Write(reader, InvalidUtf8InString);
        var e = Assert.IsAssignableFrom<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => Read(reader, path)));
        Assert.Equal(path, e.File);
        Assert.Contains("byte 19 (line 1) is not valid UTF-8", e.Message);
    }

    [Theory]
    [MemberData(nameof(Readers))]
    public void ARootThatIsNullOrAnArrayNamesTheFile(string reader)
    {
        foreach (var root in new[] { "null", "[]" })
        {
            var path = Write(reader, Encoding.UTF8.GetBytes(root));
            var e = Assert.IsAssignableFrom<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => Read(reader, path)));
            Assert.Equal(path, e.File);
            Assert.Contains(root == "null" ? "null" : "array", e.Message, StringComparison.OrdinalIgnoreCase);
        }
    }
}
