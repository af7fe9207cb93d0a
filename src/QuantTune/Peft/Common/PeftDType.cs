using static TorchSharp.torch;

namespace QuantTune.Peft.Common;

/// <summary>
/// The dtype of a method's trainable parameters: the model's own when it is fp32 or fp64, fp32
/// otherwise. Small adapter tensors kept in fp32 on a bf16/fp16 (or quantized) base take updates
/// that half precision would round away; layers cast them to the activation dtype in forward.
/// </summary>
public static class PeftDType
{
    public static ScalarType For(ScalarType modelDType) =>
        modelDType is ScalarType.Float32 or ScalarType.Float64 ? modelDType : ScalarType.Float32;
}
