using QuantTune.Evaluation;
using QuantTune.Formats.Gguf;
using QuantTune.Models.Loading;
using Xunit.Abstractions;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary>
/// Each llama.cpp file type exported from tiny-llama and read back by our reader, against the
/// original model's WikiText-2 test perplexity (4,096 tokens, 256-token windows). The bounds
/// follow the types' weight error (the block-type table in the README): 8-bit and up lose
/// almost nothing; every step down in bits may lose more, and the order holds.
/// </summary>
public sealed class GgufPerplexityTests(ITestOutputHelper output) : TempFolderTest("qt-gguf-ppl-")
{
    [Fact]
    public void EveryFileTypeReproducesThePerplexityWithinItsExpectedLoss()
    {
        using var model = PretrainedModel.Load(TestData.TinyLlamaDir);
        var ids = model.Tokenizer.Encode(File.ReadAllText(TestData.WikiTestRaw)[..40_000]).Take(4097).ToArray();
        double original = PerplexityEvaluator.Evaluate(model.Model, ids).Perplexity;

        // (file type, largest allowed perplexity ratio)
        (LlamaFileType Type, double MaxRatio)[] cases =
        [
            // tiny-llama is stored in bf16, so F16 and BF16 hold its weights exactly.
            (LlamaFileType.F16, 1.0001), (LlamaFileType.BF16, 1.0001), (LlamaFileType.Q8_0, 1.002),
            (LlamaFileType.Q6_K, 1.01), (LlamaFileType.Q5_K_M, 1.01), (LlamaFileType.Q5_0, 1.015),
            (LlamaFileType.Q4_K_M, 1.03), (LlamaFileType.Q4_0, 1.03), (LlamaFileType.Q3_K_M, 1.06), (LlamaFileType.Q2_K, 1.2),
        ];
        var ratios = new Dictionary<LlamaFileType, double>();
        foreach (var (type, maxRatio) in cases)
        {
            var path = Path.Combine(Dir, $"tiny-{type}.gguf");
            GgufExport.Write(model, path, type);
            using var rebuilt = GgufImport.ToCausalLM(GgufImport.Load(path));
            double ppl = PerplexityEvaluator.Evaluate(rebuilt, ids).Perplexity;
            ratios[type] = ppl / original;
            output.WriteLine($"{type,-7} {new FileInfo(path).Length / 1e6,6:F2} MB  perplexity {ppl:F3} (x{ppl / original:F4})");
            Assert.InRange(ppl / original, 1 / maxRatio, maxRatio);
        }
        Assert.True(ratios[LlamaFileType.Q8_0] < ratios[LlamaFileType.Q4_K_M] && ratios[LlamaFileType.Q4_K_M] < ratios[LlamaFileType.Q3_K_M]
            && ratios[LlamaFileType.Q3_K_M] < ratios[LlamaFileType.Q2_K], "fewer bits lose more");
    }
}
