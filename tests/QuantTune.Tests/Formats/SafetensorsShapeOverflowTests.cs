using System.Text;
using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;

namespace QuantTune.Tests.Formats;

/// <summary>A shape whose element count wraps past 2^64 (here 2^62 × 4 × 4 bytes = 2^68, which wraps to 0 bytes) is refused at open.</summary>
public sealed class SafetensorsShapeOverflowTests() : TempFolderTest("quanttune-st-overflow-")
{
    [Fact]
    public void AnElementCountThatWrapsToTheSpanIsRefusedByField()
    {
        var header = Encoding.UTF8.GetBytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,0]}}");
        var path = Path.Combine(Dir, "model.safetensors");
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((ulong)header.Length), .. header]);
        var e = Assert.IsType<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => SafetensorsFile.Open(path).Dispose()));
        Assert.Equal(path, e.File);
        Assert.Equal("w.shape", e.Field);
    }
}
