using QuantTune.Diagnostics;
using QuantTune.Quantization.FourBit;
using static TorchSharp.torch;

namespace QuantTune.Tests.Quantization;

public sealed class FourBitTests
{
    /// <summary>
    /// NF4 from its definition (bitsandbytes' create_normal_map, offset 0.9677083): 8 positive
    /// quantiles Φ⁻¹(linspace(offset, 0.5, 9)[:-1]), 7 negative ones from linspace(offset, 0.5, 8)[:-1],
    /// and 0, normalised by the largest.
    /// </summary>
    [Fact]
    public void Nf4IsTheNormalQuantileCodebook()
    {
        const double offset = 0.9677083;
        double[] Linspace(double a, double b, int n) => Enumerable.Range(0, n).Select(i => a + (b - a) * i / (n - 1)).ToArray();
        var positive = Linspace(offset, 0.5, 9)[..^1].Select(NormalQuantile.Ppf);
        var negative = Linspace(offset, 0.5, 8)[..^1].Select(p => -NormalQuantile.Ppf(p));
        var values = positive.Concat(negative).Append(0.0).Order().ToArray();
        var max = values.Max();
        Assert.Equal(16, values.Length);
        for (int i = 0; i < 16; i++) Assert.Equal(values[i] / max, FourBitCodebooks.NF4[i], 5);
    }

    [Fact]
    public void Fp4IsTheBitsandbytesTable()
    {
        float[] published = [0, 0.0625f, 8, 12, 4, 6, 2, 3, -0f, -0.0625f, -8, -12, -4, -6, -2, -3];
        Assert.Equal(published.Select(v => v / 12f), FourBitCodebooks.FP4);
        Assert.True(float.IsNegative(FourBitCodebooks.FP4[8]));
    }

    [Fact]
    public void DynamicMapHas256SortedValuesFromMinusOneToOne()
    {
        var map = DynamicMap.Signed;
        Assert.Equal(256, map.Length);
        Assert.Equal(map.Order(), map);
        Assert.Equal(1f, map[^1]);
        Assert.Equal(-0.99296875f, map[0], 6); // −(0.9859375 + 1)/2 · 10⁰: the largest negative mean
        Assert.Contains(0f, map);
        Assert.Equal(127, map.Count(v => v < 0));
    }

    [Fact]
    public void NibbleOrderPutsTheFirstElementHigh()
    {
        using var codes = tensor(new byte[] { 1, 2, 3, 4, 5 });
        using var packed = NibblePacking.Pack(codes);
        Assert.Equal([3L, 1L], packed.shape);
        Assert.Equal(new byte[] { 0x12, 0x34, 0x50 }, packed.bytes.ToArray());
        using var back = NibblePacking.Unpack(packed, 5);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, back.bytes.ToArray());
    }

    /// <summary>bitsandbytes' reference algorithm, one scalar at a time.</summary>
    static float[] NaiveRoundTrip(float[] x, float[] code, int block, Func<int, float>? absmaxOf = null)
    {
        var result = new float[x.Length];
        for (int b = 0; b * block < x.Length; b++)
        {
            int start = b * block, end = Math.Min(x.Length, start + block);
            float absmax = 0;
            for (int i = start; i < end; i++) absmax = Math.Max(absmax, Math.Abs(x[i]));
            float inverse = absmax > 0 ? 1f / absmax : 0f;
            float stored = absmaxOf?.Invoke(b) ?? absmax;
            for (int i = start; i < end; i++)
            {
                float s = Math.Clamp(x[i] * inverse, -1f, 1f);
                int best = 0;
                for (int k = 1; k < code.Length; k++)
                    if (Math.Abs(s - code[k]) < Math.Abs(s - code[best])) best = k;
                result[i] = code[best] * stored;
            }
        }
        return result;
    }

    static float[] TestWeights(int n, int seed)
    {
        using var g = new Generator((ulong)seed);
        using var t = randn([n], generator: g) * 0.05;
        t[7] = tensor(0.9f); // an outlier
        t[100] = tensor(0f);
        return t.data<float>().ToArray();
    }

    [Theory]
    [InlineData(FourBitType.NF4, 64)]
    [InlineData(FourBitType.FP4, 64)]
    [InlineData(FourBitType.NF4, 32)]
    [InlineData(FourBitType.NF4, 128)]
    public void RoundTripEqualsNaiveRecomputationBitForBit(FourBitType type, int block)
    {
        var x = TestWeights(64 * 37 + 10, 1); // a partial last block
        using var input = tensor(x);
        using var q = new FourBitQuantizer(type, block, doubleQuant: false).Quantize(input, ScalarType.Float32);
        using var deq = q.Dequantize();
        Assert.Equal(NaiveRoundTrip(x, FourBitCodebooks.For(type), block), deq.data<float>().ToArray());
    }

    [Fact]
    public void DoubleQuantizedRoundTripEqualsNaiveRecomputation()
    {
        var x = TestWeights(64 * 600, 2);
        using var input = tensor(x);
        using var q = new FourBitQuantizer(FourBitType.NF4, 64, doubleQuant: true).Quantize(input, ScalarType.Float32);
        // First level: the per-block absmax; offset = its mean; the centred values quantized to the
        // 8-bit dynamic map in blocks of 256 (the same naive routine with that codebook).
        int blocks = x.Length / 64;
        var absmax = Enumerable.Range(0, blocks).Select(b => x.Skip(b * 64).Take(64).Max(v => Math.Abs(v))).ToArray();
        float offset = q.Nested!.Offset;
        Assert.Equal(absmax.Average(v => (double)v), offset, 6);
        var centred = absmax.Select(a => a - offset).ToArray();
        var restored = NaiveRoundTrip(centred, DynamicMap.Signed, 256).Select(v => v + offset).ToArray();
        using var qAbsmax = q.Absmax(0, blocks);
        Assert.Equal(restored, qAbsmax.data<float>().ToArray());
        using var deq = q.Dequantize();
        Assert.Equal(NaiveRoundTrip(x, FourBitCodebooks.NF4, 64, b => restored[b]), deq.data<float>().ToArray());
    }

    [Fact]
    public void DoubleQuantizationCostsPoint127BitsPerWeightAtBlock64()
    {
        using var w = randn(4096, 4096);
        using var plain = new FourBitQuantizer(FourBitType.NF4, 64, doubleQuant: false).Quantize(w, ScalarType.BFloat16);
        using var dq = new FourBitQuantizer(FourBitType.NF4, 64, doubleQuant: true).Quantize(w, ScalarType.BFloat16);
        // The per-block constants: 32/64 = 0.5 bits per weight, and with double quantization
        // 8/64 + 32/(64·256) = 0.127 (the QLoRA paper's figure).
        double n = 4096.0 * 4096;
        Assert.Equal(0.5, plain.Tensors["absmax"].numel() * 32 / n, 6);
        Assert.Equal(0.127, (dq.Tensors["absmax"].numel() * 8 + dq.Tensors["nested_absmax"].numel() * 32) / n, 3);
        // In all, with the fixed tables (16 + 256 floats, the JSON state) spread over 16.8M weights.
        Assert.InRange(plain.BitsPerWeight, 4.5, 4.501);
        Assert.InRange(dq.BitsPerWeight, 4.127, 4.128);
    }

    [Fact]
    public void Nf4BeatsFp4AndSmallerBlocksBeatLargerOnNormalWeights()
    {
        using var w = randn(512, 1024) * 0.02;
        double Mse(FourBitType t, int block)
        {
            using var q = new FourBitQuantizer(t, block, false).Quantize(w, ScalarType.Float32);
            using var d = q.Dequantize();
            return (d - w).pow(2).mean().item<float>();
        }
        Assert.True(Mse(FourBitType.NF4, 64) < Mse(FourBitType.FP4, 64));
        Assert.True(Mse(FourBitType.NF4, 32) < Mse(FourBitType.NF4, 256));
        Assert.True(Mse(FourBitType.NF4, 256) < Mse(FourBitType.NF4, 4096));
    }

    [Fact]
    public void DequantizeRowsEqualsSlicingTheWholeWeight()
    {
        using var w = randn(48, 40); // 40 columns: row boundaries fall inside blocks of 64
        using var q = new FourBitQuantizer(FourBitType.NF4, 64, true).Quantize(w, ScalarType.Float32);
        using var all = q.Dequantize();
        using var rows = q.DequantizeRows(5, 17);
        Assert.True(rows.eq(all.narrow(0, 5, 17)).all().item<bool>());
    }

    [Fact]
    public void StorageRoundTripsThroughTheBitsandbytesKeys()
    {
        using var w = randn(96, 64);
        using var q = new FourBitQuantizer(FourBitType.FP4, 64, true).Quantize(w, ScalarType.BFloat16);
        Assert.Equal(["", "absmax", "nested_absmax", "nested_quant_map", "quant_map", "quant_state.bitsandbytes__fp4"], q.Tensors.Keys.Order());
        Assert.Equal([96L * 64 / 2, 1L], q.Tensors[""].shape);
        Assert.Equal(ScalarType.Byte, q.Tensors["absmax"].dtype);
        using var back = FourBitTensor.FromStorage(q.Tensors, "test");
        Assert.Equal(ScalarType.BFloat16, back.OriginalDType);
        using var a = q.Dequantize();
        using var b = back.Dequantize();
        Assert.True(a.eq(b).all().item<bool>());
    }

    [Fact]
    public void CorruptedOrIncompleteStorageIsRejected()
    {
        using var w = randn(64, 64);
        using var q = new FourBitQuantizer(FourBitType.NF4, 64, true).Quantize(w, ScalarType.Float32);
        var entries = new Dictionary<string, Tensor>(q.Tensors);
        entries.Remove("nested_absmax");
        Assert.Contains("weight.nested_absmax", Assert.ThrowsAny<QuantTuneException>(() => FourBitTensor.FromStorage(entries, "m.safetensors")).Message);
        entries = new Dictionary<string, Tensor>(q.Tensors) { ["quant_state.bitsandbytes__nf4"] = tensor(System.Text.Encoding.UTF8.GetBytes("{not json")) };
        Assert.Contains("not valid JSON", Assert.ThrowsAny<QuantTuneException>(() => FourBitTensor.FromStorage(entries, "m.safetensors")).Message);
        entries = new Dictionary<string, Tensor>(q.Tensors) { ["quant_state.bitsandbytes__nf4"] = tensor(System.Text.Encoding.UTF8.GetBytes("[1]")) };
        var notObject = Assert.IsType<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => FourBitTensor.FromStorage(entries, "m.safetensors")));
        Assert.Equal("weight.quant_state.bitsandbytes__nf4", notObject.Field);
        Assert.Contains("expected a JSON object", notObject.Message);
        entries = new Dictionary<string, Tensor>(q.Tensors) { ["absmax"] = zeros(3, ScalarType.Byte) };
        var e = Assert.ThrowsAny<QuantTuneException>(() => FourBitTensor.FromStorage(entries, "m.safetensors"));
        Assert.Contains("weight.absmax", e.Message);
        Assert.Contains("expected 64", e.Message);
        entries = new Dictionary<string, Tensor>(q.Tensors);
        entries.Remove("quant_state.bitsandbytes__nf4");
        Assert.Contains("quant_state", Assert.ThrowsAny<QuantTuneException>(() => FourBitTensor.FromStorage(entries, "m.safetensors")).Message);
    }

    /// <summary>
    /// A quant state whose JSON fields hold the wrong kind or an impossible value is reported against
    /// the file and the field (weight.quant_state.bitsandbytes__nf4.FIELD), never as a raw .NET
    /// exception and never blamed on --dtype (a fuzz finding of the bnb-4bit target).
    /// </summary>
    [Theory]
    [InlineData("dtype", "\"float8\"", "expected float32, bfloat16 or float16")]
    [InlineData("dtype", "7", "expected a string")]
    [InlineData("blocksize", "1.5", "expected an integer")]
    [InlineData("blocksize", "1e20", "expected an integer")]
    [InlineData("shape", "[64, -1]", "at least 1")]
    [InlineData("shape", "[2147483647, 2147483647, 2147483647]", "more than")]
    [InlineData("shape", "[64, \"x\"]", "expected an integer")]
    [InlineData("nested_blocksize", "0", "at least 1")]
    [InlineData("nested_blocksize", "\"256\"", "expected an integer")]
    [InlineData("nested_offset", "null", "expected a number")]
    public void AQuantStateFieldOfTheWrongKindNamesTheField(string field, string json, string problem)
    {
        using var w = randn(64, 64);
        using var q = new FourBitQuantizer(FourBitType.NF4, 64, true).Quantize(w, ScalarType.Float32);
        const string key = "quant_state.bitsandbytes__nf4";
        var state = System.Text.Json.Nodes.JsonNode.Parse(q.Tensors[key].bytes.ToArray())!.AsObject();
        state[field] = System.Text.Json.Nodes.JsonNode.Parse(json);
        using var edited = tensor(System.Text.Encoding.UTF8.GetBytes(state.ToJsonString()));
        var entries = new Dictionary<string, Tensor>(q.Tensors) { [key] = edited };
        var e = Assert.IsType<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => FourBitTensor.FromStorage(entries, "m.safetensors (w)")));
        Assert.Equal("m.safetensors (w)", e.File);
        Assert.StartsWith($"weight.{key}.{field}", e.Field);
        Assert.Contains(problem, e.Message);
        Assert.DoesNotContain("--", e.Message);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(48)]
    [InlineData(8192)]
    public void BlockSizeMustBeAPowerOfTwoFrom32To4096(int block)
    {
        Assert.Contains("FourBitQuantizer.BlockSize", Assert.ThrowsAny<QuantTuneException>(() => new FourBitQuantizer(FourBitType.NF4, block)).Message);
    }

    [Fact]
    public void BlockLargerThanTheTensorIsRejected()
    {
        using var w = randn(4, 8);
        Assert.Contains("larger than the tensor", Assert.ThrowsAny<QuantTuneException>(() => new FourBitQuantizer(FourBitType.NF4, 64).Quantize(w)).Message);
    }
}
