using static TorchSharp.torch;

namespace QuantTune.Tests.Peft;

/// <summary>Compares a parameter's autograd gradient with central differences of a float64 loss.</summary>
internal static class GradientCheck
{
    public const double Eps = 1e-6;

    /// <param name="parameter">float64, requires_grad, with .grad filled by a backward of the same loss</param>
    public static void AgainstCentralDifferences(Tensor parameter, Func<double> loss, double relativeTolerance = 1e-6)
    {
        Assert.Equal(ScalarType.Float64, parameter.dtype);
        var grad = parameter.grad ?? throw new Xunit.Sdk.XunitException("no gradient reached the parameter");
        var analytic = grad.contiguous().data<double>().ToArray();
        var flat = parameter.detach().view(-1);
        var numeric = new double[analytic.Length];
        for (int i = 0; i < analytic.Length; i++)
        {
            double v = flat[i].item<double>();
            flat[i].fill_(v + Eps);
            double plus = loss();
            flat[i].fill_(v - Eps);
            double minus = loss();
            flat[i].fill_(v);
            numeric[i] = (plus - minus) / (2 * Eps);
        }
        double scale = Math.Max(1, numeric.Max(Math.Abs));
        for (int i = 0; i < analytic.Length; i++)
            Assert.True(Math.Abs(analytic[i] - numeric[i]) <= relativeTolerance * scale,
                $"element {i}: autograd {analytic[i]:R}, central difference {numeric[i]:R}");
    }
}
