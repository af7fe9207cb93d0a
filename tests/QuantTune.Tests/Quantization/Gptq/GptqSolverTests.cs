using QuantTune.Quantization.Gptq;
using QuantTune.Quantization.Integer;
using static TorchSharp.torch;

namespace QuantTune.Tests.Quantization.Gptq;

/// <summary>The lazy-batch Cholesky solver against a naive OBS re-computation, RTN, and the output error it minimises.</summary>
public sealed class GptqSolverTests
{
    /// <summary>A weight [rows, n] ~ N(0, 1) and H = 2/m·XᵀX for m tokens whose features are mixed (correlated).</summary>
    static (Tensor W, Tensor H) Problem(int rows, int n, int tokens, long seed, ScalarType dtype, int deadColumn = -1, bool correlated = true)
    {
        var gen = new Generator((ulong)seed);
        var w = randn(new long[] { rows, n }, dtype, generator: gen);
        var x = randn(new long[] { tokens, n }, dtype, generator: gen);
        if (correlated) x = x.matmul(eye(n, dtype: dtype).add(randn(new long[] { n, n }, dtype, generator: gen).mul(0.4)));
        // Features of different scales, as activations have.
        x = x.mul(rand(new long[] { n }, dtype, generator: gen).mul(3).add(0.2));
        if (deadColumn >= 0) x[TensorIndex.Colon, deadColumn] = zeros(tokens, dtype);
        var h = x.t().matmul(x).mul(2.0 / tokens);
        return (w, h);
    }

    static double[,] ToArray(Tensor t)
    {
        var c = t.to_type(ScalarType.Float64).contiguous();
        var data = c.data<double>().ToArray();
        long rows = c.shape[0], cols = c.shape[1];
        var a = new double[rows, cols];
        for (long i = 0; i < rows; i++)
            for (long j = 0; j < cols; j++) a[i, j] = data[i * cols + j];
        return a;
    }

    [Theory]
    [InlineData(4, 16, false, false, 32)]
    [InlineData(3, 16, false, true, 32)]
    [InlineData(2, -1, false, false, 16)]
    [InlineData(4, -1, true, true, 16)]
    [InlineData(8, 32, true, false, 128)]
    [InlineData(3, 24, false, false, 128)]
    public void LazyBatchesEqualTheNaiveColumnByColumnObsUpdate(int bits, int group, bool actOrder, bool symmetric, int block)
    {
        var (w, h) = Problem(16, 64, 256, 7 + bits, ScalarType.Float64, deadColumn: 9);
        var settings = new GptqSettings(bits, group, symmetric ? IntegerMode.Absmax : IntegerMode.ZeroPoint, actOrder, BlockSize: block);
        using var result = GptqSolver.Quantize(w, h, settings);
        var naive = NaiveGptq.Run(ToArray(w), ToArray(h), bits, group, !symmetric, actOrder);
        var codes = ToArray(result.Codes);
        var weights = ToArray(result.Weights);
        for (int r = 0; r < 16; r++)
            for (int j = 0; j < 64; j++)
            {
                Assert.Equal(naive.Codes[r, j], codes[r, j]);
                Assert.Equal(naive.Weights[r, j], weights[r, j], 1e-12);
            }
        Assert.Equal(naive.GroupIndex, result.GroupIndex.data<int>().ToArray());
        // The dead column (input always 0) comes out as exact zeros.
        for (int r = 0; r < 16; r++) Assert.Equal(0.0, weights[r, 9]);
    }

    [Theory]
    [InlineData(4, 16)]
    [InlineData(3, -1)]
    [InlineData(8, 32)]
    public void TheSymmetricGridIsGptqPysQuantizerWithAllTwoToTheBCodes(int bits, int group)
    {
        // gptq.py's Quantizer.find_params and quantize, written out: xmin = min(x, 0), xmax = max(x, 0),
        // sym: xmax = max(|xmin|, xmax), xmin = −xmax; all-zero rows get ±1; scale = (xmax − xmin)/maxq,
        // zero = (maxq + 1)/2; q = clamp(round(x/scale) + zero, 0, maxq); x̂ = scale·(q − zero).
        var w = randn(new long[] { 6, 64 }, ScalarType.Float64, generator: new Generator(11));
        w[1] = zeros(64, ScalarType.Float64);
        using var rtn = GptqGrid.RoundToNearest(w, new GptqSettings(bits, group, IntegerMode.Absmax));
        var x = ToArray(w);
        var codes = ToArray(rtn.Codes);
        var deq = ToArray(rtn.Weights);
        double maxq = (1 << bits) - 1, zero = (maxq + 1) / 2;
        int g = group == -1 ? 64 : group;
        for (int r = 0; r < 6; r++)
            for (int start = 0; start < 64; start += g)
            {
                double xmax = 0, xmin = 0;
                for (int j = start; j < start + g; j++) { xmax = Math.Max(xmax, x[r, j]); xmin = Math.Min(xmin, x[r, j]); }
                xmax = Math.Max(-xmin, xmax);
                xmin = -xmax;
                if (xmax == 0) { xmin = -1; xmax = 1; }
                double scale = (xmax - xmin) / maxq;
                for (int j = start; j < start + g; j++)
                {
                    double t = x[r, j] / scale;
                    double q = Math.Clamp(Math.Round(t, MidpointRounding.ToEven) + zero, 0, maxq);
                    // The largest magnitude lands on the tie ±maxq/2, which either formula (x/scale here,
                    // x·(1/scale) in the library) may see an ulp to either side: there the code may differ by one.
                    bool tie = Math.Abs(Math.Abs(t - Math.Truncate(t)) - 0.5) < 1e-9;
                    if (tie) Assert.InRange(codes[r, j], q - zero - 1, q - zero + 1);
                    else Assert.Equal(q - zero, codes[r, j]);
                    Assert.Equal(scale * codes[r, j], deq[r, j], 1e-12);
                }
            }
    }

    [Fact]
    public void ActOrderQuantizesColumnsByDescendingHessianDiagonalAndRecordsTheirGroups()
    {
        var (w, h) = Problem(8, 64, 128, 3, ScalarType.Float32);
        using var result = GptqSolver.Quantize(w, h, new GptqSettings(4, 16, ActOrder: true));
        var diag = h.diagonal().data<float>().ToArray();
        var order = Enumerable.Range(0, 64).OrderByDescending(i => diag[i]).ToArray();
        var gIdx = result.GroupIndex.data<int>().ToArray();
        for (int k = 0; k < 64; k++) Assert.Equal(k / 16, gIdx[order[k]]);
        // The stored tensor dequantizes through g_idx to the solver's weights.
        using var stored = result.ToTensor();
        Assert.Equal(0f, (stored.Dequantize() - result.Weights).abs().max().item<float>());
        Assert.True(stored.ActOrder);
    }

    [Theory]
    [InlineData(4, 16, false)]
    [InlineData(3, 16, true)]
    public void WithUncorrelatedInputsGptqIsRoundToNearest(int bits, int group, bool symmetric)
    {
        // A diagonal Hessian: no input is correlated with another, so no error can be compensated.
        var gen = new Generator(11);
        var w = randn(new long[] { 32, 64 }, generator: gen);
        var h = diag(rand(new long[] { 64 }, generator: gen).add(0.5));
        var mode = symmetric ? IntegerMode.Absmax : IntegerMode.ZeroPoint;
        var settings = new GptqSettings(bits, group, mode);
        using var gptq = GptqSolver.Quantize(w, h, settings);
        using var grid = GptqGrid.RoundToNearest(w, settings);
        Assert.Equal(0f, (gptq.Weights - grid.Weights).abs().max().item<float>());
        if (symmetric) return; // GPTQ's symmetric grid is its own (2^b codes), not the integer quantizer's absmax grid
        // The zero-point grid is the integer quantizer's: blocks of `group` consecutive elements of each 64-wide row.
        using var rtn = new IntegerQuantizer(new IntegerScheme(bits, mode, Granularity.Block, group)).QuantizeInteger(w);
        Assert.Equal(0f, (gptq.Weights - rtn.Dequantize()).abs().max().item<float>());
    }

    [Theory]
    [InlineData(4, 32)]
    [InlineData(3, -1)]
    [InlineData(2, 16)]
    public void OnCorrelatedInputsGptqLowersTheOutputErrorBelowRoundToNearest(int bits, int group)
    {
        var (w, h) = Problem(64, 128, 1024, 5, ScalarType.Float32);
        var settings = new GptqSettings(bits, group);
        using var gptq = GptqSolver.Quantize(w, h, settings);
        using var rtn = GptqGrid.RoundToNearest(w, settings);
        double gptqError = gptq.OutputError(w, h), rtnError = rtn.OutputError(w, h);
        Assert.True(gptqError < 0.8 * rtnError, $"GPTQ {gptqError} vs RTN {rtnError}");
        // The error is (1/n)·Σ‖(W − Q)x‖² for H = 2/n·XXᵀ: check the trace form against the plain sum.
        var gen = new Generator(1);
        var x = randn(new long[] { 50, 128 }, generator: gen);
        var hx = x.t().matmul(x).mul(2.0 / 50);
        double direct = (w - gptq.Weights).matmul(x.t()).pow(2).sum(ScalarType.Float64).item<double>() / 50;
        Assert.Equal(direct, gptq.OutputError(w, hx), direct * 1e-4);
    }

    [Fact]
    public void TheHessianIsTheRunningMeanOfTwoXxt()
    {
        var gen = new Generator(2);
        var a = randn(new long[] { 2, 5, 8 }, generator: gen);
        var b = randn(new long[] { 3, 8 }, generator: gen);
        using var acc = new HessianAccumulator(8);
        acc.Add(a);
        acc.Add(b);
        var all = cat(new[] { a.reshape(-1, 8), b }, 0);
        var expected = all.t().matmul(all).mul(2.0 / 13);
        Assert.Equal(13, acc.Tokens);
        Assert.True(allclose(acc.Hessian, expected, 1e-5, 1e-5));
    }

    [Fact]
    public void BadSettingsAreRefusedWithTheOptionNamed()
    {
        Assert.Contains("GptqSettings.Bits = 5", Assert.Throws<QuantTune.Diagnostics.InvalidSettingException>(() => new GptqSettings(5).Validate()).Message);
        Assert.Contains("GptqSettings.GroupSize = 0", Assert.Throws<QuantTune.Diagnostics.InvalidSettingException>(() => new GptqSettings(4, 0).Validate()).Message);
        Assert.Contains("GptqSettings.Damp = 0", Assert.Throws<QuantTune.Diagnostics.InvalidSettingException>(() => new GptqSettings(4, 128, Damp: 0).Validate()).Message);
        Assert.Contains("GptqSettings.GroupSize = 128", Assert.Throws<QuantTune.Diagnostics.InvalidSettingException>(() => new GptqSettings(4, 128).ValidateFor("x", 64)).Message);
    }
}
