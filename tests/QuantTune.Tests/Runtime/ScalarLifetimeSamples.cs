using TorchSharp;
using static TorchSharp.torch;

namespace QuantTune.Tests.Runtime;

/// <summary>Known-unsafe and known-safe patterns that the Scalar audit must tell apart.</summary>
internal static class ScalarLifetimeSamples
{
    static readonly Scalar One = 1.ToScalar();

    public static Tensor Unsafe_operator(Tensor a, Tensor b) => a + b;

    public static Tensor Unsafe_implicit_scalar(Tensor a) => a.mul(0.5);

    public static Tensor Safe_using(Tensor a)
    {
        using var half = 0.5.ToScalar();
        return a.mul(half);
    }

    public static Tensor Safe_static(Tensor a, Tensor b) => a.add(b, One);
}
