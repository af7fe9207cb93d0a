using QuantTune.Quantization.Activations;
using QuantTune.Quantization.Layers;
using static TorchSharp.torch;

namespace QuantTune.Training.Memory;

/// <summary>M1: bytes of every parameter plus the quantized storage of quantized layers.</summary>
public static class WeightBytes
{
    public static long Of(nn.Module model) =>
        model.parameters().Sum(p => p.numel() * p.ElementSize)
        + model.named_modules().Sum(m => m.module switch
        {
            QuantizedLinear q => q.Weight.StorageBytes,
            ActivationQuantizedLinear a => a.Weight.StorageBytes,
            _ => 0L,
        });
}
