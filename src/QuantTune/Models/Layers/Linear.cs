using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Models.Layers;

/// <summary>
/// y = x Wᵀ + b with W of shape [out, in], as torch.nn.Linear, but allocated without
/// initialisation: checkpoint weights are copied in afterwards, so loading a model never pays
/// for a random init it would throw away. <see cref="ResetParameters"/> gives torch's init.
/// Built inside <see cref="OnMetaDevice"/> (accelerate's <c>init_empty_weights</c>, for linear
/// layers only), a layer holds no memory at all until a loader puts a real one in its place.
/// </summary>
public sealed class Linear : nn.Module<Tensor, Tensor>
{
    public readonly Parameter weight;
    public readonly Parameter? bias;

    public long InFeatures { get; }
    public long OutFeatures { get; }

    [ThreadStatic] static bool t_onMeta;

    /// <summary>Until disposed, the linear layers this thread builds are placeholders on the meta device (shapes, no storage).</summary>
    public static IDisposable OnMetaDevice()
    {
        bool outer = t_onMeta;
        t_onMeta = true;
        return new Restore(() => t_onMeta = outer);
    }

    /// <summary>Whether the weight is a placeholder on the meta device, with no storage.</summary>
    public bool IsPlaceholder => weight.device_type == DeviceType.META;

    public Linear(long inFeatures, long outFeatures, bool hasBias, ScalarType dtype, Device? device = null) : base(nameof(Linear))
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        if (t_onMeta) device = new Device(DeviceType.META);
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

file sealed class Restore(Action restore) : IDisposable
{
    public void Dispose() => restore();
}
