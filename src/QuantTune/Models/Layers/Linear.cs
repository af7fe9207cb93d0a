using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Models.Layers;

/// <summary>
/// y = x Wᵀ + b with W of shape [out, in], as torch.nn.Linear, but allocated without
/// initialisation: checkpoint weights are copied in afterwards, so loading a model never pays
/// for a random init it would throw away. <see cref="ResetParameters"/> gives torch's init.
/// </summary>
public sealed class Linear : nn.Module<Tensor, Tensor>
{
    public readonly Parameter weight;
    public readonly Parameter? bias;

    public long InFeatures { get; }
    public long OutFeatures { get; }

    public Linear(long inFeatures, long outFeatures, bool hasBias, ScalarType dtype, Device? device = null) : base(nameof(Linear))
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        weight = new Parameter(empty([outFeatures, inFeatures], dtype, device));
        if (hasBias) bias = new Parameter(empty([outFeatures], dtype, device));
        RegisterComponents();
    }

    /// <summary>torch.nn.Linear's initialisation: Kaiming-uniform(a=√5) weight, uniform(±1/√in) bias.</summary>
    public void ResetParameters(Generator? generator = null)
    {
        using var _ = no_grad();
        // Kaiming-uniform with a = √5 has bound √(6 / ((1 + a²)·fan_in)) = 1/√fan_in, the same as the bias.
        double bound = 1.0 / Math.Sqrt(InFeatures);
        weight.uniform_(-bound, bound, generator);
        bias?.uniform_(-bound, bound, generator);
    }

    public override Tensor forward(Tensor input) => nn.functional.linear(input, weight, bias);
}
