using QuantTune.Training.Optimizers;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Tests.Training.Optimizers;

public sealed class AdamWOptimizerTests
{
    /// <summary>Same start, same grads: our AdamW and TorchSharp's torch.optim.AdamW agree bit for bit.</summary>
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.01)]
    public void MatchesTorchSharpAdamW(double weightDecay)
    {
        using var problem = new LeastSquares();
        var ours = problem.NewParameters();
        var theirs = problem.NewParameters();
        using var adamw = new AdamWOptimizer(ours, new AdamWOptions(Lr: 1e-2, WeightDecay: weightDecay));
        using var reference = optim.AdamW(theirs.Select(p => p.Param), lr: 1e-2, weight_decay: weightDecay);
        for (int step = 0; step < 10; step++)
        {
            adamw.ZeroGrad();
            reference.zero_grad();
            problem.Loss(ours, backward: true);
            problem.Loss(theirs, backward: true);
            adamw.Step();
            reference.step();
        }
        for (int i = 0; i < ours.Count; i++)
        {
            double maxDiff = (ours[i].Param - theirs[i].Param).abs().max().item<float>();
            Assert.True(maxDiff <= 1e-6, $"{ours[i].Name}: max difference {maxDiff}");
            Assert.True(LeastSquares.BitIdentical(ours[i].Param, theirs[i].Param), $"{ours[i].Name} differs from torch.optim.AdamW in the last bits");
        }
        LeastSquares.DisposeAll(ours);
        LeastSquares.DisposeAll(theirs);
    }

    [Fact]
    public void ParametersWithoutGradAreSkippedAndKeepTheirStepCount()
    {
        using var problem = new LeastSquares();
        var p = problem.NewParameters();
        using var adamw = new AdamWOptimizer(p, new AdamWOptions(1e-2));
        problem.Loss(p, backward: true);
        adamw.Step();
        adamw.ZeroGrad();
        Assert.Null(p[0].Param.grad);
        using var biasBefore = p[1].Param.detach().clone();
        // Only the weight gets a grad.
        p[0].Param.grad = ones_like(p[0].Param);
        adamw.Step();
        Assert.True(LeastSquares.BitIdentical(biasBefore, p[1].Param));
        var state = adamw.StateDict();
        Assert.Equal(2L, state["layer.weight.step"].item<long>());
        Assert.Equal(1L, state["layer.bias.step"].item<long>());
        foreach (var t in state.Values) t.Dispose();
        LeastSquares.DisposeAll(p);
    }

    [Fact]
    public void StateBytesAreTwoFp32MomentsPerElement()
    {
        using var problem = new LeastSquares();
        var p = problem.NewParameters();
        using var adamw = new AdamWOptimizer(p, new AdamWOptions(1e-3));
        Assert.Equal(2L * 4 * (LeastSquares.Out * LeastSquares.In + LeastSquares.Out), adamw.StateBytes);
        LeastSquares.DisposeAll(p);
    }

    [Fact]
    public void DuplicateParameterNamesAreRejected()
    {
        using var a = new Parameter(zeros(3));
        using var b = new Parameter(zeros(3));
        var ex = Assert.Throws<QuantTune.Diagnostics.QuantTuneException>(() => new AdamWOptimizer([("w", a), ("w", b)], new AdamWOptions(1e-3)));
        Assert.Contains("'w'", ex.Message);
    }

    [Fact]
    public void InvalidHyperparametersAreRejected()
    {
        using var a = new Parameter(zeros(3));
        Assert.Throws<QuantTune.Diagnostics.QuantTuneException>(() => new AdamWOptimizer([("w", a)], new AdamWOptions(1e-3, Beta1: 1.0)));
        Assert.Throws<QuantTune.Diagnostics.QuantTuneException>(() => new AdamWOptimizer([("w", a)], new AdamWOptions(-1)));
    }
}
