using QuantTune.Diagnostics;
using QuantTune.Models.Layers;
using QuantTune.Models.Loading;
using QuantTune.Qat;
using static TorchSharp.torch;

namespace QuantTune.Tests.Qat;

/// <summary>Running a saved QAT checkpoint: what <see cref="QatInference"/> and <see cref="QatManifest"/> do with it.</summary>
public sealed class QatInferenceTests() : TempFolderTest("quanttune-qat-inference-")
{
    [Fact]
    public void PackingATernaryCheckpointFreesTheDenseWeightsItReplaces()
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        var dense = new List<Tensor>();
        using (no_grad())
            foreach (var (name, module) in pm.Model.named_modules().ToList())
            {
                if (module is not Linear linear || name == QatSpec.Head) continue;
                // What a BitNet b1.58 checkpoint holds: codes·γ.
                var (codes, gamma) = BitNetWeights.Ternary(linear.weight);
                linear.weight.copy_(codes * gamma);
                codes.Dispose();
                gamma.Dispose();
                dense.Add(linear.weight);
            }
        QatManifest.Save(Dir, QatManifest.CheckpointFile, new QatSpec("bitnet158"));

        var result = QatInference.Apply(pm.Model, Dir, packTernary: true);

        Assert.NotNull(result);
        Assert.True(result.Packed);
        Assert.Equal(dense.Count, result.Layers.Count);
        Assert.All(dense, w => Assert.True(w.IsInvalid, "a replaced dense weight is still allocated"));
    }

    [Fact]
    public void AnActivationWidthOutOfRangeIsReportedAgainstActivationBits()
    {
        File.WriteAllText(Path.Combine(Dir, QatManifest.CheckpointFile), """{"qat": "int4", "activation_bits": 40}""");
        var e = Assert.Throws<InvalidFormatException>(() => QatManifest.Load(Dir, QatManifest.CheckpointFile));
        Assert.Equal("activation_bits", e.Field);
    }

    [Fact]
    public void AnUnknownKindIsReportedAgainstQat()
    {
        File.WriteAllText(Path.Combine(Dir, QatManifest.CheckpointFile), """{"qat": "int3"}""");
        var e = Assert.Throws<InvalidFormatException>(() => QatManifest.Load(Dir, QatManifest.CheckpointFile));
        Assert.Equal("qat", e.Field);
    }

    [Fact]
    public void ABf16BitLinear158PacksToTheSameTritsAndGamma()
    {
        using var scope = NewDisposeScope();
        var w = randn(64, 128, generator: new Generator(3)).to_type(ScalarType.BFloat16);
        using var linear = new Linear(128, 64, hasBias: false, dtype: ScalarType.BFloat16);
        using (no_grad()) linear.weight.copy_(w);
        var packed = PackedBitLinear158.From(new BitLinear158(linear));
        // Independent reference: γ = mean|W| and round(clamp(W/γ, −1, 1)), in float64.
        var w64 = w.to_type(ScalarType.Float64);
        double gamma = w64.abs().mean().item<double>();
        var trits = (w64 / gamma).clamp(-1, 1).round().to_type(ScalarType.Int8).data<sbyte>().ToArray();
        Assert.InRange(packed.Gamma / gamma, 1 - 1e-2, 1 + 1e-2);
        // γ in bf16 may move the odd element sitting on a rounding boundary (|W/γ| = 0.5).
        var actual = packed.Weight.Unpack();
        Assert.True(trits.Zip(actual).Count(p => p.First != p.Second) <= trits.Length / 100);
    }
}
