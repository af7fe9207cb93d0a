using System.Text.Json.Nodes;
using QuantTune.Formats.Gguf;
using QuantTune.Formats.Gguf.Architectures;
using QuantTune.Generation;
using QuantTune.Models.Config;
using QuantTune.Models.Loading;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary>
/// Every registered GGUF architecture (<see cref="GgufArchitectures.All"/>) exports its family's fixture and reads it
/// back through <see cref="PretrainedModel.Load"/>: the model rebuilt from the file (config from its keys, tensors
/// renamed and transformed back) gives the original's logits and, at F32, its greedy continuation. The cases come from
/// the registry, so an architecture added without a fixture or without import fails here.
/// </summary>
public sealed class GgufArchitectureRoundTripTests(ITestOutputHelper output) : TempFolderTest("qt-gguf-arch-")
{
    /// <summary>Each architecture at F32 and at Q8_0.</summary>
    public static TheoryData<string, string> Cases()
    {
        var cases = new TheoryData<string, string>();
        foreach (var arch in GgufArchitectures.All)
            foreach (var type in new[] { "f32", "q8_0" })
                cases.Add(arch.Name, type);
        return cases;
    }

    /// <summary>
    /// Largest |Δ| on the logits over the largest |logit|, between the model read back and the one exported. F32 files
    /// hold the weights exactly (llama's row permutation only moves them; Gemma's (w + 1) − 1 is exact for these norms):
    /// measured 0 on every architecture. Q8_0 rounds each weight to one of 255 steps of its 32-value block's largest |w|;
    /// through these random-weight fixtures that moved the logits by 5.6e-3 (llama) to 5.3e-2 (gemma2, whose final
    /// soft-cap of 1.5 keeps its logits small against the same absolute change) of the largest, so the bound is about
    /// twice the largest measured. The Q8_0 file is also checked exactly: against the original with each weight put
    /// through the file's quantization (<see cref="Requantize"/>), within F32's bound.
    /// </summary>
    static double Tolerance(string type) => type == "f32" ? 1e-4 : 0.1;

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryArchitectureReadsBackItsExportWithTheOriginalsLogits(string architecture, string type)
    {
        var arch = GgufArchitectures.Find(architecture)!;
        using var original = PretrainedModel.Load(Fixture(arch));
        string path = Path.Combine(Dir, $"{architecture}-{type}.gguf");
        var plan = GgufExport.Write(original, path, LlamaFileTypes.Parse(type)!.Value);
        using var imported = PretrainedModel.Load(path);
        Assert.Same(arch, GgufArchitectures.For(imported.Config));

        int[] ids = original.Tokenizer.Encode(File.ReadAllText(TestData.WikiTestRaw)[..2_000]).Take(64).ToArray();
        Assert.Equal(64, ids.Length);
        using var input = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]);
        float[] actual = Logits(imported, input);
        AssertClose(Logits(original, input), actual, Tolerance(type), $"{architecture} {type} against the original");
        if (type != "f32")
        {
            Requantize(original, arch, plan);
            AssertClose(Logits(original, input), actual, Tolerance("f32"), $"{architecture} {type} against the original's weights quantized as in the file");
            return;
        }
        var options = new SamplingOptions { MaxNewTokens = 24, StopTokens = [] };
        int[] prompt = ids[..16];
        Assert.Equal(TextGenerator.Generate(original.Model, prompt, options).ToArray(), TextGenerator.Generate(imported.Model, prompt, options).ToArray());
    }

    static bool Representable(IGgufArchitecture arch, string fixture)
    {
        try
        {
            arch.CheckRepresentable(ModelConfig.Load(fixture), fixture);
            return true;
        }
        catch (Exception e) when (e is QuantTune.Diagnostics.QuantTuneException or NotSupportedException)
        {
            return false;
        }
    }

    static float[] Logits(PretrainedModel model, Tensor input)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return model.Model.Forward(input).to(ScalarType.Float32).data<float>().ToArray();
    }

    void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double gap = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max() / expected.Max(MathF.Abs);
        output.WriteLine($"{what}: logits max |Δ| / max |logit| {gap:E2} (bound {tolerance:E0})");
        Assert.InRange(gap, 0, tolerance);
    }

    /// <summary>
    /// Each weight of <paramref name="model"/> replaced by its quantized value in the type <paramref name="plan"/> gave
    /// its tensor: put in the file's layout, quantized there (Qwen3.5's ssm_out has its columns reordered, so its blocks
    /// hold other values than in HF's layout), and brought back.
    /// </summary>
    static void Requantize(PretrainedModel model, IGgufArchitecture arch, IReadOnlyDictionary<string, GgmlType> plan)
    {
        using var _ = no_grad();
        foreach (var (name, p) in model.Model.named_parameters())
        {
            // A stacked tensor's slices (qwen3moe's experts) are whole rows of blocks: each is quantized as it lies in the stack.
            string gguf = arch.MergedInto(name, model.Config)?.Gguf ?? arch.TensorName(name)!;
            if (!arch.Writes(name) || plan[gguf] is not (var type and not GgmlType.F32)) continue;
            long[] stored = arch.GgufShape(gguf, p.shape);
            float[] values = arch.ToGguf(gguf, p.shape, p.detach().data<float>().ToArray(), model.Config);
            values = arch.ToHf(gguf, stored, GgmlCodec.Dequantize(type, GgmlCodec.Quantize(type, values), values.Length), model.Config);
            using var quantized = tensor(values, p.shape);
            p.copy_(quantized);
        }
    }

    /// <summary>
    /// The fixture of <paramref name="arch"/>'s family (tests/fixtures/tiny-*, and the embedded tiny-llama): the first whose
    /// family the architecture takes and whose config it can represent (tiny-qwen3.5-gguf for qwen35: tiny-qwen3.5's value
    /// heads differ in size from its key heads; tiny-smollm3-gguf for smollm3: tiny-smollm3 has no RoPE in a layer llama.cpp rotates), else the first it takes. tiny-gemma3's query_pre_attn_scalar (24) is one llama.cpp's gemma3 cannot represent
    /// (export refuses it), so it is read with head_dim (32), as check-gguf.mjs exports it.
    /// </summary>
    string Fixture(IGgufArchitecture arch)
    {
        var candidates = new[] { TestData.TinyLlamaDir }.Concat(Directory.GetDirectories(Path.Combine(AppContext.BaseDirectory, "fixtures"), "tiny-*").Order(StringComparer.Ordinal));
        var taken = candidates.Where(d => File.Exists(Path.Combine(d, "config.json")) && arch.Takes(ModelConfig.Load(d).Family)).ToList();
        string? fixture = taken.FirstOrDefault(d => Representable(arch, d)) ?? taken.FirstOrDefault();
        Assert.True(fixture is not null, $"no fixture in tests/fixtures/tiny-* is of a family that exports as {arch.Name}");
        if (Path.GetFileName(fixture) != "tiny-gemma3") return fixture;
        string copy = Path.Combine(Dir, "tiny-gemma3");
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(fixture)) File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(copy, "config.json")))!.AsObject();
        config["query_pre_attn_scalar"] = 32;
        File.WriteAllText(Path.Combine(copy, "config.json"), config.ToJsonString());
        return copy;
    }
}
