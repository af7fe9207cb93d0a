using static TorchSharp.torch;

namespace QuantTune.Peft.Common;

/// <summary>
/// Random initial values drawn on the CPU from a seeded generator and copied to the parameter's
/// device, so that the same seed gives the same adapter on any device.
/// </summary>
public static class SeededInit
{
    /// <summary>torch.nn.Linear's init for [out, in] weight and bias: Kaiming-uniform(a=√5) = U(±1/√in), bias U(±1/√in).</summary>
    public static void KaimingUniform(Tensor weight, Tensor? bias, Generator generator)
    {
        double bound = 1.0 / Math.Sqrt(weight.shape[1]);
        Uniform(weight, bound, generator);
        if (bias is not null) Uniform(bias, bound, generator);
    }

    static void Uniform(Tensor destination, double bound, Generator generator)
    {
        // In a scope: the empty tensor stays reachable while uniform_ fills it, and copy_'s returned handle is freed.
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var values = empty(destination.shape, destination.dtype).uniform_(-bound, bound, generator);
        destination.copy_(values);
    }
}
