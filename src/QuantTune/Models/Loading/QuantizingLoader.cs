using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.Models.Config;
using QuantTune.Models.Layers;
using QuantTune.Models.Transformer;
using QuantTune.Quantization.Models;
using static TorchSharp.torch;

namespace QuantTune.Models.Loading;

/// <summary>
/// Builds a model whose linear layers are quantized as they are read, so the full-precision model
/// never exists whole (the load of QLoRA and QST): the linear layers start as placeholders with no
/// storage (<see cref="Linear.OnMetaDevice"/>); one at a time, a layer is read from the checkpoint at
/// full precision on the model's device, quantized there, and replaced by its quantized form, and its
/// full-precision weight is freed (as are the checkpoint's pages, <see cref="SafetensorsFile"/>) before
/// the next is read. The process peaks at about the quantized model, the layers kept in floating point
/// (embeddings, norms, the LM head) and one layer, instead of the whole model at full precision.
/// Freed layers go back to the OS as they are freed (<see cref="ProcessMemory.TrackLargeAllocations"/>).
/// The quantized layers are identical to those of quantizing the loaded model afterwards.
/// </summary>
static class QuantizingLoader
{
    public static CausalLM Build(ModelConfig config, SafetensorsCheckpoint checkpoint, ScalarType dtype, Device device, LayerQuantizer quantize)
    {
        // Each freed layer goes back to the OS (glibc would otherwise keep it in its heap, resident).
        using var heap = ProcessMemory.TrackLargeAllocations();
        CausalLM model;
        using (Linear.OnMetaDevice()) model = new CausalLM(config, dtype, device);
        try
        {
            var placeholders = model.named_modules().Where(m => m.module is Linear).Select(m => (path: m.name, layer: (Linear)m.module)).ToList();
            foreach (var (path, placeholder) in placeholders)
            {
                var real = new Linear(placeholder.InFeatures, placeholder.OutFeatures, placeholder.bias is not null, dtype, device);
                if (quantize.Takes(path))
                {
                    using (real)
                    {
                        WeightLoader.Load(real, checkpoint, config: config, prefix: path + ".");
                        ModuleSurgery.Replace(model, path, quantize.Quantize(path, real));
                    }
                }
                // Kept in floating point: read with the rest of the model.
                else ModuleSurgery.Replace(model, path, real);
                placeholder.Dispose();
            }
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
