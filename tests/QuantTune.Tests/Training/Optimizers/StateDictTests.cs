using QuantTune.Diagnostics;
using TorchSharp;
using QuantTune.Training.Optimizers;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Tests.Training.Optimizers;

public sealed class StateDictTests
{
    static ITrainingOptimizer Create(string kind, IReadOnlyList<(string Name, Parameter Param)> p, AdamWOptions o) => kind switch
    {
        "adamw" => new AdamWOptimizer(p, o),
        "paged_adamw" => new PagedAdamWOptimizer(p, o),
        "adamw_8bit" => new AdamW8bitOptimizer(p, o),
        _ => throw new ArgumentException(kind),
    };

    static double Lr(int step) => 1e-2 * Math.Min(1.0, (step + 1) / 5.0);

    static void Run(LeastSquares problem, ITrainingOptimizer opt, IReadOnlyList<(string Name, Parameter Param)> p, int from, int to)
    {
        for (int step = from; step < to; step++)
        {
            opt.LearningRate = Lr(step);
            opt.ZeroGrad();
            problem.Loss(p, backward: true);
            opt.Step();
        }
    }

    /// <summary>Stop at k, save parameters and optimizer state, resume in a fresh optimizer: same bits at n.</summary>
    [Theory]
    [InlineData("adamw")]
    [InlineData("paged_adamw")]
    [InlineData("adamw_8bit")]
    public void ResumeIsBitExact(string kind)
    {
        const int k = 7, n = 15;
        var options = new AdamWOptions(1e-2, WeightDecay: 0.01);
        using var problem = new LeastSquares();
        var original = problem.NewParameters();
        using var first = Create(kind, original, options);
        Assert.Equal(kind, first.Name);
        Run(problem, first, original, 0, k);
        var savedParams = original.Select(p => p.Param.detach().clone()).ToArray();
        var savedState = first.StateDict();
        Assert.All(savedState.Values, t => Assert.Equal(DeviceType.CPU, t.device_type));
        Run(problem, first, original, k, n);

        var resumed = problem.NewParameters();
        using (no_grad()) for (int i = 0; i < resumed.Count; i++) resumed[i].Param.copy_(savedParams[i]);
        using var second = Create(kind, resumed, options);
        second.LoadStateDict(savedState);
        Run(problem, second, resumed, k, n);

        for (int i = 0; i < original.Count; i++) Assert.True(LeastSquares.BitIdentical(original[i].Param, resumed[i].Param), original[i].Name);
        var end1 = first.StateDict();
        var end2 = second.StateDict();
        foreach (var key in end1.Keys) Assert.True(LeastSquares.BitIdentical(end1[key], end2[key]), key);

        foreach (var t in savedParams.Concat(savedState.Values).Concat(end1.Values).Concat(end2.Values)) t.Dispose();
        LeastSquares.DisposeAll(original);
        LeastSquares.DisposeAll(resumed);
    }

    [Fact]
    public void StateDictHasStableNames()
    {
        using var problem = new LeastSquares();
        var p = problem.NewParameters();
        using var opt = new AdamWOptimizer(p, new AdamWOptions(1e-3));
        var state = opt.StateDict();
        Assert.Equal(["layer.bias.exp_avg", "layer.bias.exp_avg_sq", "layer.bias.step", "layer.weight.exp_avg", "layer.weight.exp_avg_sq", "layer.weight.step"],
            state.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(ScalarType.Int64, state["layer.weight.step"].dtype);
        foreach (var t in state.Values) t.Dispose();
        LeastSquares.DisposeAll(p);
    }

    [Fact]
    public void LoadRejectsMissingUnknownMisshapenAndMistypedEntriesWithoutChangingAnything()
    {
        using var problem = new LeastSquares();
        var p = problem.NewParameters();
        using var opt = new AdamW8bitOptimizer(p, new AdamWOptions(1e-2));
        Run(problem, opt, p, 0, 3);
        var good = opt.StateDict();

        var missing = good.Where(kv => kv.Key != "layer.weight.exp_avg.absmax").ToDictionary();
        Assert.Contains("missing 'layer.weight.exp_avg.absmax'", Assert.Throws<QuantTuneException>(() => opt.LoadStateDict(missing)).Message);

        using var extra = zeros(3);
        var unknown = new Dictionary<string, Tensor>(good) { ["other.weight.step"] = extra };
        Assert.Contains("unexpected 'other.weight.step'", Assert.Throws<QuantTuneException>(() => opt.LoadStateDict(unknown)).Message);

        using var wrongShape = zeros(5);
        var misshapen = new Dictionary<string, Tensor>(good) { ["layer.bias.exp_avg"] = wrongShape };
        var shapeError = Assert.Throws<QuantTuneException>(() => opt.LoadStateDict(misshapen)).Message;
        Assert.Contains("'layer.bias.exp_avg'", shapeError);
        Assert.Contains("[5]", shapeError);

        // A 32-bit AdamW state (fp32 exp_avg) where 8-bit codes are expected.
        using var fp32Codes = zeros(LeastSquares.Out * LeastSquares.In);
        var mistyped = new Dictionary<string, Tensor>(good) { ["layer.weight.exp_avg.codes"] = fp32Codes };
        Assert.Contains("'layer.weight.exp_avg.codes'", Assert.Throws<QuantTuneException>(() => opt.LoadStateDict(mistyped)).Message);

        // Nothing was written by the failed loads.
        var after = opt.StateDict();
        foreach (var key in good.Keys) Assert.True(LeastSquares.BitIdentical(good[key], after[key]), key);
        foreach (var t in good.Values.Concat(after.Values)) t.Dispose();
        LeastSquares.DisposeAll(p);
    }

    [Fact]
    public void StateOfAnotherOptimizerKindIsRejected()
    {
        using var problem = new LeastSquares();
        var p = problem.NewParameters();
        using var full = new AdamWOptimizer(p, new AdamWOptions(1e-2));
        using var eight = new AdamW8bitOptimizer(p, new AdamWOptions(1e-2));
        var state = full.StateDict();
        var ex = Assert.Throws<QuantTuneException>(() => eight.LoadStateDict(state));
        Assert.Contains("adamw_8bit", ex.Message);
        foreach (var t in state.Values) t.Dispose();
        LeastSquares.DisposeAll(p);
    }
}
