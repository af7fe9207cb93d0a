using System.Text.Json;
using QuantTune.Training.Alignment.Grpo;
using static TorchSharp.torch;

namespace QuantTune.Tests.Training.Alignment.Grpo;

/// <summary>
/// GRPO's advantages, loss, metrics and gradient with respect to the policy log-probabilities against
/// tests/fixtures/alignment/expected-grpo.json, which tools/alignment-losses/grpo_losses.py computes with NumPy from
/// TRL's GRPOTrainer on fixed log-probabilities (with ratios on both sides of the clip range, padding, β above 0,
/// every loss type and reward scaling).
/// </summary>
public sealed class GrpoLossTests
{
    static readonly string ExpectedPath = Path.Combine(AppContext.BaseDirectory, "fixtures", "alignment", "expected-grpo.json");

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

    static double[] Vector(JsonElement e) => [.. e.EnumerateArray().Select(v => v.GetDouble())];

    static double[,] Matrix(JsonElement e)
    {
        var rows = e.EnumerateArray().Select(Vector).ToArray();
        var m = new double[rows.Length, rows[0].Length];
        for (int i = 0; i < rows.Length; i++) for (int j = 0; j < rows[i].Length; j++) m[i, j] = rows[i][j];
        return m;
    }

    static Tensor Tensor2(JsonElement e) => tensor(Matrix(e), ScalarType.Float64);

    static GrpoOptions Options(JsonElement o) => new()
    {
        NumGenerations = o.GetProperty("num_generations").GetInt32(),
        ScaleRewards = o.GetProperty("scale_rewards").GetString() switch { "group" => RewardScaling.Group, "batch" => RewardScaling.Batch, _ => RewardScaling.None },
        Beta = o.GetProperty("beta").GetDouble(),
        Epsilon = o.GetProperty("epsilon").GetDouble(),
        EpsilonHigh = o.GetProperty("epsilon_high").ValueKind == JsonValueKind.Null ? null : o.GetProperty("epsilon_high").GetDouble(),
        LossType = o.GetProperty("loss_type").GetString() switch { "grpo" => GrpoLossType.Grpo, "dr_grpo" => GrpoLossType.DrGrpo, _ => GrpoLossType.Dapo },
        MaxCompletionLength = o.GetProperty("max_completion_length").GetInt32(),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesTheNumPyPortOfTrl(string name)
    {
        var c = Case(name);
        var x = c.GetProperty("inputs");
        var expected = c.GetProperty("expected");
        var o = Options(c.GetProperty("options"));

        var (advantages, means, stds) = GrpoLoss.Advantages(Vector(x.GetProperty("rewards")), o.NumGenerations, o.ScaleRewards);
        AssertClose(Vector(expected.GetProperty("advantages")), advantages, 1e-9, "advantages");
        AssertClose(Vector(expected.GetProperty("group_means")), means, 1e-12, "group means");
        AssertClose(Vector(expected.GetProperty("group_stds")), stds, 1e-12, "group stds");

        using var scope = NewDisposeScope();
        var logps = Tensor2(x.GetProperty("logps")).requires_grad_(true);
        var result = GrpoLoss.Compute(logps, Tensor2(x.GetProperty("old_logps")), Tensor2(x.GetProperty("reference_logps")),
            tensor(advantages, ScalarType.Float64), Tensor2(x.GetProperty("mask")), o);
        Assert.Equal(expected.GetProperty("loss").GetDouble(), result.Loss.item<double>(), 1e-9);
        foreach (var m in expected.GetProperty("metrics").EnumerateObject())
            Assert.True(Math.Abs(m.Value.GetDouble() - result.Metrics[m.Name]) < 1e-6, $"{name}: {m.Name} {result.Metrics[m.Name]}, expected {m.Value.GetDouble()}");
        Assert.Equal(o.Beta > 0, result.Metrics.ContainsKey(GrpoLoss.Kl));
        result.Loss.backward();
        var grad = logps.grad!;
        var want = Matrix(expected.GetProperty("grad_logps"));
        for (int i = 0; i < want.GetLength(0); i++)
            for (int j = 0; j < want.GetLength(1); j++)
                Assert.True(Math.Abs(want[i, j] - grad[i, j].item<double>()) < 1e-9, $"{name}: d loss / d logp[{i}, {j}] {grad[i, j].item<double>()}, expected {want[i, j]}");
    }

    [Fact]
    public void WithoutAnOldPolicyTheRatioIsOneAndTheGradientIsTheAdvantageWeightedLogLikelihoods()
    {
        // TRL's num_iterations 1: old = current, detached; nothing clips, and d loss / d logp = −A / tokens (dapo).
        using var scope = NewDisposeScope();
        var logps = tensor(new double[,] { { -1.0, -2.0 }, { -0.5, -3.0 } }, ScalarType.Float64).requires_grad_(true);
        var mask = tensor(new double[,] { { 1, 1 }, { 1, 0 } }, ScalarType.Float64);
        var result = GrpoLoss.Compute(logps, null, null, tensor(new[] { 1.0, -1.0 }, ScalarType.Float64), mask, new GrpoOptions());
        Assert.Equal(-1.0 / 3, result.Loss.item<double>(), 12);
        Assert.Equal(0, result.Metrics[GrpoLoss.ClipRegion]);
        result.Loss.backward();
        var grad = logps.grad!.reshape(-1).data<double>().ToArray();
        double[] want = [-1.0 / 3, -1.0 / 3, 1.0 / 3, 0];
        for (int i = 0; i < want.Length; i++) Assert.Equal(want[i], grad[i], 12);
    }

    static void AssertClose(double[] expected, double[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) < tolerance, $"{what}[{i}]: {actual[i]}, expected {expected[i]}");
    }
}
