using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Fuzz;
using QuantTune.Models.Loading;
using QuantTune.SideTuning;

namespace QuantTune.Tests.SideTuning;

/// <summary>A saved side network's qst_config.json: sizes checked before they size an allocation, errors naming the file and field, never a CLI flag.</summary>
public sealed class QstConfigFileTests() : TempFolderTest("quanttune-qst-config-")
{
    string SideFolder(string field, JsonNode value)
    {
        foreach (var f in Directory.GetFiles(MicroModel.Instance.Qst)) File.Copy(f, Path.Combine(Dir, Path.GetFileName(f)));
        var path = Path.Combine(Dir, QstCheckpoint.ConfigFile);
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        json[field] = value;
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }

    [Theory]
    [InlineData("bottleneck", 2000000000)]
    [InlineData("reduction", 0)]
    [InlineData("reduction", 3)]
    public void ASizeOutOfRangeNamesTheFileAndField(string field, int value)
    {
        var path = SideFolder(field, value);
        using var pm = PretrainedModel.Load(MicroModel.Instance.Checkpoint);
        var e = Assert.IsType<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => QstLoader.Attach(pm, Dir).Dispose()));
        Assert.Equal(path, e.File);
        Assert.Equal(field, e.Field);
        Assert.DoesNotContain("--", e.Message);
    }

    [Fact]
    public void AMissingStringFieldIsNamed()
    {
        var path = SideFolder("downsampler", JsonValue.Create((string?)null)!);
        var e = Assert.IsType<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => QstCheckpoint.ReadInfo(Dir)));
        Assert.Equal("downsampler", e.Field);
    }

    /// <summary>
    /// A size in range that does not fit the saved weights: the weights file and key are named, and so
    /// is qst_config.json by its full path, where the number came from (a fuzz finding of the qst target).
    /// </summary>
    [Theory]
    [InlineData("bottleneck", 8)]
    [InlineData("reduction", 4)]
    [InlineData("downsampler", "linear")]
    public void AConfigThatDoesNotFitTheWeightsNamesBothFiles(string field, object value)
    {
        var path = SideFolder(field, value is int i ? JsonValue.Create(i) : JsonValue.Create((string)value));
        using var pm = PretrainedModel.Load(MicroModel.Instance.Checkpoint);
        var e = Assert.IsType<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => QstLoader.Attach(pm, Dir).Dispose()));
        Assert.Equal(Path.Combine(Dir, QstCheckpoint.WeightsFile), e.File);
        Assert.Contains(path, e.Message);
    }
}
