using System.Text.Json;
using QuantTune.Diagnostics;
using QuantTune.Training.Alignment;
using static TorchSharp.torch;

namespace QuantTune.Tests.Training.Alignment;

/// <summary>
/// Every objective's loss and metrics against tests/fixtures/alignment/expected-losses.json, which
/// tools/alignment-losses/expected_losses.py computes with NumPy from the papers' and TRL's formulas on fixed
/// log-probabilities; DPO's gradients with respect to the policy log-probabilities against the derivative written out there.
/// </summary>
public sealed class AlignmentLossTests
{
    static readonly string ExpectedPath = Path.Combine(AppContext.BaseDirectory, "fixtures", "alignment", "expected-losses.json");

    public static TheoryData<string> Cases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(ExpectedPath));
        var data = new TheoryData<string>();
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray()) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    static JsonElement Case(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(ExpectedPath));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name).Clone();
    }

    static Tensor Vector(JsonElement inputs, string field, bool grad = false) =>
        tensor(inputs.GetProperty(field).EnumerateArray().Select(v => v.GetDouble()).ToArray(), ScalarType.Float64).requires_grad_(grad);

    static Tensor? Optional(JsonElement inputs, string field) =>
        !inputs.TryGetProperty(field, out var v) ? null
        : v.ValueKind == JsonValueKind.Number ? tensor(v.GetDouble(), ScalarType.Float64) : Vector(inputs, field);

    static (PreferenceLogProbs LogProbs, AlignmentOptions Options) Inputs(JsonElement c)
    {
        var x = c.GetProperty("inputs");
        var o = c.GetProperty("options");
        var logps = new PreferenceLogProbs(Vector(x, "chosen", grad: true), Vector(x, "rejected", grad: true), Vector(x, "chosen_tokens"), Vector(x, "rejected_tokens"))
        {
            ReferenceChosen = Optional(x, "reference_chosen"),
            ReferenceRejected = Optional(x, "reference_rejected"),
            ChosenNll = Optional(x, "chosen_nll"),
            Mismatched = Optional(x, "mismatched"),
            ReferenceMismatched = Optional(x, "reference_mismatched"),
        };
        var options = new AlignmentOptions
        {
            Beta = o.GetProperty("beta").GetDouble(),
            LabelSmoothing = o.GetProperty("label_smoothing").GetDouble(),
            SimPoGamma = o.GetProperty("simpo_gamma").GetDouble(),
            CpoAlpha = o.GetProperty("cpo_alpha").GetDouble(),
            DesirableWeight = o.GetProperty("desirable_weight").GetDouble(),
            UndesirableWeight = o.GetProperty("undesirable_weight").GetDouble(),
        };
        return (logps, options);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LossAndMetricsEqualTheNumPyValues(string name)
    {
        var c = Case(name);
        var (logps, options) = Inputs(c);
        options.Validate();
        var result = AlignmentObjectiveRegistry.Get(c.GetProperty("objective").GetString()!).Compute(logps, options);
        Assert.Equal(c.GetProperty("loss").GetDouble(), result.Loss.item<double>(), 1e-12);
        var expected = c.GetProperty("metrics").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        Assert.Equal(expected.Keys.Order(), result.Metrics.Keys.Order());
        foreach (var (key, value) in expected) Assert.True(Math.Abs(value - result.Metrics[key]) < 1e-12, $"{name} {key}: expected {value}, got {result.Metrics[key]}");
    }

    [Theory]
    [InlineData("dpo")]
    [InlineData("dpo-beta-0.5")]
    [InlineData("dpo-label-smoothing")]
    public void DpoGradientsWithRespectToThePolicyLogProbsEqualTheNumPyDerivative(string name)
    {
        var c = Case(name);
        var (logps, options) = Inputs(c);
        AlignmentObjectiveRegistry.Get("dpo").Compute(logps, options).Loss.backward();
        var gradients = c.GetProperty("gradients");
        foreach (var (field, t) in new[] { ("chosen", logps.Chosen), ("rejected", logps.Rejected) })
        {
            var expected = gradients.GetProperty(field).EnumerateArray().Select(v => v.GetDouble()).ToArray();
            var actual = t.grad!.data<double>().ToArray();
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-14);
        }
    }

    [Fact]
    public void KtoKlEstimateCarriesNoGradient()
    {
        var (logps, options) = Inputs(Case("kto"));
        var mismatched = logps.Mismatched!.requires_grad_(true);
        AlignmentObjectiveRegistry.Get("kto").Compute(logps, options).Loss.backward();
        Assert.Null(mismatched.grad);
        Assert.NotNull(logps.Chosen.grad);
    }

    [Fact]
    public void ReferenceFreeObjectivesNeedNoReference()
    {
        var (logps, options) = Inputs(Case("simpo"));
        var free = logps with { ReferenceChosen = null, ReferenceRejected = null };
        Assert.Equal(Case("simpo").GetProperty("loss").GetDouble(), AlignmentObjectiveRegistry.Get("simpo").Compute(free, options).Loss.item<double>(), 1e-12);
        var e = Assert.Throws<QuantTuneException>(() => AlignmentObjectiveRegistry.Get("dpo").Compute(free, options));
        Assert.Contains("ReferenceChosen", e.Message);
        Assert.False(AlignmentObjectiveRegistry.Get("orpo").UsesReference);
        Assert.True(AlignmentObjectiveRegistry.Get("kto").UsesReference);
        Assert.False(AlignmentObjectiveRegistry.Get("kto").Paired);
    }

    [Fact]
    public void RegistryNamesEveryObjectiveAndRefusesOthers()
    {
        Assert.Equal(["dpo", "ipo", "orpo", "kto", "simpo"], AlignmentObjectiveRegistry.All.Select(o => o.Name));
        Assert.Equal("ipo", AlignmentObjectiveRegistry.Get(" IPO ").Name);
        var e = Assert.Throws<QuantTuneException>(() => AlignmentObjectiveRegistry.Get("grpo"));
        Assert.Contains("dpo, ipo, orpo, kto, simpo", e.Message);
    }

    [Theory]
    [InlineData(0.0, 0.0, "Beta")]
    [InlineData(0.1, 0.5, "LabelSmoothing")]
    public void OptionsOutOfRangeAreRefusedByProperty(double beta, double smoothing, string property)
    {
        var e = Assert.Throws<InvalidSettingException>(() => new AlignmentOptions { Beta = beta, LabelSmoothing = smoothing }.Validate());
        Assert.Equal($"AlignmentOptions.{property}", e.Setting);
        Assert.StartsWith($"AlignmentOptions.{property} = ", e.Message);
    }

    [Fact]
    public void OrpoLog1mExpIsFiniteForLogProbsNearZeroAndVeryNegative()
    {
        var x = tensor(new[] { -1e-9, -0.5, -80.0 }, ScalarType.Float64);
        var y = PreferenceMath.Log1mExp(x).data<double>().ToArray();
        Assert.Equal(Math.Log(1e-9), y[0], 1e-6);
        Assert.Equal(Math.Log(1 - Math.Exp(-0.5)), y[1], 1e-14);
        Assert.Equal(-Math.Exp(-80), y[2], 1e-40);
    }
}
