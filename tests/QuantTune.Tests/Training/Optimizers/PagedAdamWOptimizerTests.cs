using QuantTune.Training.Optimizers;

namespace QuantTune.Tests.Training.Optimizers;

public sealed class PagedAdamWOptimizerTests
{
    [Fact]
    public void OnCpuPagingIsInactiveAndSaysWhy()
    {
        using var problem = new LeastSquares();
        var p = problem.NewParameters();
        using var paged = new PagedAdamWOptimizer(p, new AdamWOptions(1e-3));
        Assert.False(paged.PagingActive);
        Assert.Equal("paging has no effect on CPU: state and parameters already share host memory", paged.Note);
        LeastSquares.DisposeAll(p);
    }

    [Fact]
    public void OnCpuItIsExactlyAdamW()
    {
        using var problem = new LeastSquares();
        var a = problem.NewParameters();
        var b = problem.NewParameters();
        var options = new AdamWOptions(Lr: 5e-3, WeightDecay: 0.1);
        using var adamw = new AdamWOptimizer(a, options);
        using var paged = new PagedAdamWOptimizer(b, options);
        for (int step = 0; step < 15; step++)
        {
            adamw.LearningRate = paged.LearningRate = 5e-3 * (1 - step / 30.0);
            adamw.ZeroGrad();
            paged.ZeroGrad();
            problem.Loss(a, backward: true);
            problem.Loss(b, backward: true);
            adamw.Step();
            paged.Step();
        }
        for (int i = 0; i < a.Count; i++) Assert.True(LeastSquares.BitIdentical(a[i].Param, b[i].Param), a[i].Name);
        Assert.Equal(adamw.StateBytes, paged.StateBytes);
        var sa = adamw.StateDict();
        var sb = paged.StateDict();
        Assert.Equal(sa.Keys.Order(), sb.Keys.Order());
        foreach (var key in sa.Keys) Assert.True(LeastSquares.BitIdentical(sa[key], sb[key]), key);
        foreach (var t in sa.Values.Concat(sb.Values)) t.Dispose();
        LeastSquares.DisposeAll(a);
        LeastSquares.DisposeAll(b);
    }
}
