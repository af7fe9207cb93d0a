using System.Text;
using System.Text.Json;
using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using static TorchSharp.torch;

namespace QuantTune.Tests.Formats;

public sealed class SafetensorsTests() : TempFolderTest("qt-st-")
{
    string PathOf(string name) => Path.Combine(Dir, name);

    /// <summary>Writes a safetensors file by hand: header JSON as given, then <paramref name="dataBytes"/> bytes.</summary>
    string Raw(string name, string headerJson, int dataBytes, ulong? declaredLength = null)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        using var s = File.Create(PathOf(name));
        s.Write(BitConverter.GetBytes(declaredLength ?? (ulong)header.Length));
        s.Write(header);
        s.Write(new byte[dataBytes]);
        return PathOf(name);
    }

    static InvalidFormatException Invalid(string path) =>
        Assert.IsAssignableFrom<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => SafetensorsFile.Open(path).Dispose()));

    [Theory]
    [InlineData(6L)]         // 3 f16 elements a slice: 7 × 5 is not a multiple, so the last slice is short
    [InlineData(1L)]         // less than an element: one element a slice
    [InlineData(16L << 20)]  // the whole tensor in one slice
    public void ConvertingCopyEqualsConvertingTheWholeTensor(long sliceBytes)
    {
        using var scope = NewDisposeScope();
        var stored = randn(7, 5, dtype: ScalarType.Float16);
        var path = PathOf("f16.safetensors");
        SafetensorsWriter.Write(path, new Dictionary<string, Tensor> { ["w"] = stored }, new Dictionary<string, string>());
        using var file = SafetensorsFile.Open(path);
        var expected = stored.to_type(ScalarType.Float32);
        var sliced = empty(7, 5);
        file.CopyConverting("w", sliced, sliceBytes);
        Assert.True(sliced.equal(expected).all().item<bool>());
        var whole = file.ToTensor("w", ScalarType.Float32);
        Assert.Equal(ScalarType.Float32, whole.dtype);
        Assert.True(whole.equal(expected).all().item<bool>());
        Assert.Throws<ArgumentException>(() => file.CopyConverting("w", empty(6, 5)));
    }

    [Fact]
    public void EveryDTypeRoundTripsBitExactly()
    {
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>
        {
            ["f64"] = randn(3, 5, dtype: ScalarType.Float64),
            ["f32"] = randn(4, 7),
            ["f16"] = randn(2, 3, dtype: ScalarType.Float16),
            ["bf16"] = randn(5, dtype: ScalarType.BFloat16),
            ["i64"] = randint(-1000, 1000, [6], dtype: ScalarType.Int64),
            ["i32"] = randint(-1000, 1000, [2, 2], dtype: ScalarType.Int32),
            ["i16"] = randint(-1000, 1000, [3], dtype: ScalarType.Int16),
            ["i8"] = randint(-128, 127, [9], dtype: ScalarType.Int8),
            ["u8"] = randint(0, 255, [2, 4], dtype: ScalarType.Byte),
            ["bool"] = randint(0, 2, [5], dtype: ScalarType.Int64).to_type(ScalarType.Bool),
            ["scalar"] = tensor(3.5f),
            ["empty"] = zeros(0, 4),
        };
        var path = PathOf("all.safetensors");
        SafetensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "round trip" });
        using var file = SafetensorsFile.Open(path);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal("round trip", file.Metadata["note"]);
        foreach (var (name, expected) in tensors)
        {
            var actual = file.ToTensor(name);
            Assert.Equal(expected.dtype, actual.dtype);
            Assert.Equal(expected.shape, actual.shape);
            Assert.Equal(expected.bytes.ToArray(), actual.bytes.ToArray());
        }
        Assert.Equal("F64", file.Tensors["f64"].DType.ToString());
        Assert.Equal("BOOL", file.Tensors["bool"].DType.ToString());
    }

    [Fact]
    public void WrittenHeaderFollowsTheFormat()
    {
        using var scope = NewDisposeScope();
        var path = PathOf("one.safetensors");
        SafetensorsWriter.Write(path, new Dictionary<string, Tensor> { ["a"] = arange(6, dtype: ScalarType.Float32).reshape(2, 3) });
        var bytes = File.ReadAllBytes(path);
        ulong n = BitConverter.ToUInt64(bytes, 0);
        Assert.Equal(0UL, (8 + n) % 8);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        var a = header.RootElement.GetProperty("a");
        Assert.Equal("F32", a.GetProperty("dtype").GetString());
        Assert.Equal([2L, 3L], a.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([0L, 24L], a.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(8 + (int)n + 24, bytes.Length);
        Assert.Equal(5f, BitConverter.ToSingle(bytes, 8 + (int)n + 20));
    }

    [Fact]
    public void WriteIsAtomicAndLeavesNoTemporaryFile()
    {
        using var scope = NewDisposeScope();
        var path = PathOf("atomic.safetensors");
        SafetensorsWriter.Write(path, new Dictionary<string, Tensor> { ["x"] = ones(4) });
        var before = File.ReadAllBytes(path);
        // A tensor of a dtype safetensors cannot hold fails the write: the old file must stay as it was.
        Assert.ThrowsAny<Exception>(() => SafetensorsWriter.Write(path, new Dictionary<string, Tensor> { ["c"] = ones(2, dtype: ScalarType.ComplexFloat32) }));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(Dir));
    }

    [Fact]
    public void HeaderLengthBeyondTheFileIsRejected()
    {
        var e = Invalid(Raw("long.safetensors", "{}", 0, declaredLength: 1_000_000));
        Assert.Contains("long.safetensors", e.Message);
        Assert.Contains("header length", e.Message);
    }

    [Fact]
    public void FileShorterThanTheLengthPrefixIsRejected()
    {
        File.WriteAllBytes(PathOf("tiny.safetensors"), [1, 2, 3]);
        Assert.Contains("8-byte header length", Invalid(PathOf("tiny.safetensors")).Message);
    }

    [Fact]
    public void InvalidJsonHeaderIsRejected()
    {
        Assert.Contains("not valid JSON", Invalid(Raw("json.safetensors", "{\"a\": [", 0)).Message);
    }

    [Fact]
    public void OutOfRangeDataOffsetsAreRejected()
    {
        var e = Invalid(Raw("range.safetensors", """{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 8));
        Assert.Equal("w.data_offsets", e.Field);
        Assert.Contains("beyond the data section", e.Message);
    }

    [Fact]
    public void OverlappingDataOffsetsAreRejected()
    {
        var e = Invalid(Raw("overlap.safetensors",
            """{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}""", 24));
        Assert.Contains("overlaps", e.Message);
        Assert.EndsWith("data_offsets", e.Field);
    }

    [Fact]
    public void UnknownDTypeIsRejected()
    {
        var e = Invalid(Raw("dtype.safetensors", """{"w":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}}""", 1));
        Assert.Equal("w.dtype", e.Field);
        Assert.Contains("'F7'", e.Message);
        Assert.Contains("F32", e.Message);
    }

    [Fact]
    public void ShapeThatDisagreesWithByteCountIsRejected()
    {
        var e = Invalid(Raw("shape.safetensors", """{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}}""", 16));
        Assert.Equal("w.shape", e.Field);
        Assert.Contains("needs 24 bytes", e.Message);
    }

    [Fact]
    public void NonIntegerShapeIsRejected()
    {
        var e = Invalid(Raw("neg.safetensors", """{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4));
        Assert.Equal("w.shape", e.Field);
    }

    [Fact]
    public void TruncatedFileIsRejected()
    {
        using var scope = NewDisposeScope();
        var path = PathOf("trunc.safetensors");
        SafetensorsWriter.Write(path, new Dictionary<string, Tensor> { ["w"] = ones(100) });
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^40]);
        Assert.Contains("truncated", Invalid(path).Message);
    }

    [Fact]
    public void MetadataMustBeStrings()
    {
        var e = Invalid(Raw("meta.safetensors", """{"__metadata__":{"format":3}}""", 0));
        Assert.Equal("__metadata__.format", e.Field);
    }
}
