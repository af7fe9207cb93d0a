using QuantTune.Models.Loading;
using QuantTune.Quantization.Models;
using QuantTune.Training.FineTuning.Methods;

namespace QuantTune.Training.FineTuning;

/// <summary>Loads the model a fine-tuning, preference or GRPO run trains, as every such run loads it.</summary>
public static class FineTuneModel
{
    /// <summary>
    /// <paramref name="r"/>'s model on <paramref name="device"/> and in its dtype, reporting the phase. QLoRA's and QST's backbone is
    /// quantized to NF4 (double quantization) layer by layer as it is read: the full-precision model never exists whole.
    /// </summary>
    public static PretrainedModel Load(FineTuneRequest r, IFineTuneMethod method, TorchSharp.torch.Device device, IProgress<TrainingProgress>? progress)
    {
        progress?.Report(TrainingProgress.Starting(
            method.QuantizesBackbone ? $"loading {r.ModelDirectory}, quantizing its linear layers to NF4 as they are read" : $"loading {r.ModelDirectory}", r.Training.Steps));
        return PretrainedModel.Load(r.ModelDirectory, r.DType, device, quantize: LayerQuantizer.ForBackbone(method.QuantizesBackbone));
    }
}
