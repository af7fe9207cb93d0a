using QuantTune.Diagnostics;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Training.FineTuning;

/// <summary>
/// The dtype and device of a fine-tuning run. bf16 is mixed precision as PEFT users know it
/// ("bf16=True"): the frozen base (plain, or NF4 for QLoRA/QST, dequantized to bf16 in forward)
/// computes in bf16, while every trainable tensor (LoRA A/B, DoRA magnitudes, adapters, IA3
/// vectors, prompt embeddings, BitFit biases, the QST side network) and so the AdamW state stays
/// fp32. Full fine-tuning would update bf16 weights themselves — no fp32 master copy is kept —
/// so it is refused in bf16, as is QAT (its fake quantizers train in fp32). fp16 would need loss
/// scaling, which is not built.
/// </summary>
public static class FineTunePrecision
{
    /// <summary>Checks the request's dtype against its method; throws naming the setting otherwise.</summary>
    public static void Check(FineTuneRequest r)
    {
        switch (r.DType)
        {
            case ScalarType.Float32:
                return;
            case ScalarType.Float16:
                throw new InvalidSettingException("FineTuneRequest.DType", "fp16", "fine-tuning runs in fp32 or bf16 (fp16 training needs loss scaling, which QuantTune does not build); use FineTuneRequest.DType bf16");
            case ScalarType.BFloat16:
                break;
            default:
                throw new InvalidSettingException("FineTuneRequest.DType", TorchRuntime.Name(r.DType), "fine-tuning runs in fp32 or bf16");
        }
        if (r.Method == FineTuneMethod.Full)
            throw new QuantTuneException("FineTuneRequest.Method full FineTuneRequest.DType bf16: full fine-tuning would update the bf16 weights themselves (no fp32 master copy is kept) and bf16 rounds most small updates away; use FineTuneRequest.DType fp32, or a PEFT method (lora, qlora, dora, ...) whose trainable weights stay fp32 over the bf16 base");
        if (r.Qat is not null)
            throw new QuantTuneException($"FineTuneRequest.Qat {r.Qat} FineTuneRequest.DType bf16: quantization-aware training runs in fp32; use FineTuneRequest.DType fp32");
    }

    /// <summary>The request's device, or CUDA when available and the CPU otherwise.</summary>
    public static Device DeviceOf(FineTuneRequest r) => r.Device ?? TorchRuntime.ParseDevice("auto");
}
