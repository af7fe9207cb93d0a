using QuantTune.Quantization.FourBit;
using QuantTune.Training.Optimizers;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Training.Optimizers;

public sealed class AdamW8bitOptimizerTests(ITestOutputHelper output)
{
    [Fact]
    public void UnsignedDynamicMapHas256SortedNonNegativeValues()
    {
        var map = DynamicMap.Unsigned;
        Assert.Equal(256, map.Length);
        Assert.Equal(map.Order(), map);
        Assert.Equal(0f, map[0]);
        Assert.Equal(1f, map[^1]);
        Assert.Equal(256, map.Distinct().Count());
        // Largest midpoint below 1: linspace(0.1, 1, 129) has step 0.9/128, so (1 − 0.9/256)·10⁰.
        Assert.Equal(1 - 0.9f / 256, map[^2], 6);
        // Smallest: the first midpoint of linspace(0.1, 1, 3) at 10⁻⁶.
        Assert.Equal(0.325e-6f, map[1], 10);
    }

    [Fact]
    public void LargeTensorsAre8BitAndSmallOnesStay32Bit()
    {
        using var problem = new LeastSquares();
        var p = problem.NewParameters();
        using var opt = new AdamW8bitOptimizer(p, new AdamWOptions(1e-3));
        Assert.True(opt.IsQuantized("layer.weight"));
        Assert.False(opt.IsQuantized("layer.bias"));
        var state = opt.StateDict();
        Assert.Equal(ScalarType.Byte, state["layer.weight.exp_avg.codes"].dtype);
        Assert.Equal(ScalarType.Byte, state["layer.weight.exp_avg_sq.codes"].dtype);
        Assert.Equal([LeastSquares.Out * LeastSquares.In / 256L], state["layer.weight.exp_avg.absmax"].shape);
        Assert.Equal(ScalarType.Float32, state["layer.bias.exp_avg"].dtype);
        Assert.False(state.ContainsKey("layer.weight.exp_avg"));
        foreach (var t in state.Values) t.Dispose();
        LeastSquares.DisposeAll(p);
    }

    [Fact]
    public void StateIsAboutAQuarterOf32BitForLargeTensors()
    {
        using var w = new Parameter(zeros(512, 512));
        using var eight = new AdamW8bitOptimizer([("w", w)], new AdamWOptions(1e-3));
        using var full = new AdamWOptimizer([("w", w)], new AdamWOptions(1e-3));
        double ratio = (double)eight.StateBytes / full.StateBytes;
        output.WriteLine($"8-bit state {eight.StateBytes} B, 32-bit state {full.StateBytes} B, ratio {ratio:P2}");
        // 2 bytes of codes + 8/256 bytes of absmax per element, plus two 1 KiB maps.
        Assert.Equal(2L * 512 * 512 + 2L * 4 * (512 * 512 / 256) + 2 * 256 * 4, eight.StateBytes);
        Assert.InRange(ratio, 0.25, 0.26);
    }

    [Fact]
    public void ConvergesLike32BitAdamW()
    {
        using var problem = new LeastSquares();
        var a = problem.NewParameters();
        var b = problem.NewParameters();
        var options = new AdamWOptions(Lr: 3e-2, WeightDecay: 0.01);
        using var full = new AdamWOptimizer(a, options);
        using var eight = new AdamW8bitOptimizer(b, options);
        double start = problem.Loss(a, backward: false);
        const int steps = 600;
        for (int step = 0; step < steps; step++)
        {
            // Linear decay to 0, as a fine-tuning schedule would do: both end near the optimum.
            full.LearningRate = eight.LearningRate = 3e-2 * (1 - (double)step / steps);
            full.ZeroGrad();
            eight.ZeroGrad();
            problem.Loss(a, backward: true);
            problem.Loss(b, backward: true);
            full.Step();
            eight.Step();
        }
        double loss32 = problem.Loss(a, backward: false), loss8 = problem.Loss(b, backward: false);
        output.WriteLine($"start {start:G6}, after {steps} steps: 32-bit {loss32:G6}, 8-bit {loss8:G6}, relative {Math.Abs(loss8 - loss32) / loss32:P2}");
        // The noise floor of this problem is about 0.005: both should reach it.
        Assert.True(loss32 < 0.006, "32-bit AdamW should solve the problem");
        Assert.InRange(Math.Abs(loss8 - loss32) / loss32, 0, 0.05);
        LeastSquares.DisposeAll(a);
        LeastSquares.DisposeAll(b);
    }

    [Fact]
    public void TrajectoryStaysCloseToAdamW()
    {
        using var problem = new LeastSquares();
        var a = problem.NewParameters();
        var b = problem.NewParameters();
        using var w0 = a[0].Param.detach().clone();
        var options = new AdamWOptions(Lr: 1e-3);
        using var full = new AdamWOptimizer(a, options);
        using var eight = new AdamW8bitOptimizer(b, options);
        for (int step = 0; step < 20; step++)
        {
            full.ZeroGrad();
            eight.ZeroGrad();
            problem.Loss(a, backward: true);
            problem.Loss(b, backward: true);
            full.Step();
            eight.Step();
        }
        double difference = (a[0].Param - b[0].Param).norm().item<float>();
        double moved = (a[0].Param - w0).norm().item<float>();
        double size = a[0].Param.norm().item<float>();
        output.WriteLine($"after 20 steps: |W8 − W32| = {difference:G4}, |W32 − W0| = {moved:G4} ({difference / moved:P2} of the movement), |W32| = {size:G4} ({difference / size:P3})");
        Assert.InRange(difference / moved, 0, 0.05);
        // The 32-bit bias is updated from the same grads only as long as the weights agree.
        double biasDifference = (a[1].Param - b[1].Param).abs().max().item<float>();
        Assert.InRange(biasDifference, 0, 1e-3);
        LeastSquares.DisposeAll(a);
        LeastSquares.DisposeAll(b);
    }
}
