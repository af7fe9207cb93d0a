using QuantTune.Models.Config;
using static TorchSharp.torch;

namespace QuantTune.Models.Layers;

/// <summary>The norm of a family's kind: an <see cref="RmsNorm"/>, or torch's LayerNorm with weight and bias (GPT-2).</summary>
public static class Norms
{
    public static nn.Module<Tensor, Tensor> Create(long dim, double eps, ScalarType dtype, Device? device, NormKind kind) =>
        kind == NormKind.LayerNorm ? nn.LayerNorm(dim, eps, dtype: dtype, device: device) : new RmsNorm(dim, eps, dtype, device, kind);
}
