using QuantTune.Diagnostics;

namespace QuantTune.Training.FineTuning;

/// <summary>The fine-tuning methods of <c>quanttune finetune --method</c>.</summary>
public enum FineTuneMethod { Full, Lora, Qlora, Dora, Adapter, Ia3, Prompt, Bitfit, Qst }

public static class FineTuneMethods
{
    public const string Names = "full, lora, qlora, dora, adapter, ia3, prompt, bitfit, qst";

    public static FineTuneMethod Parse(string name) =>
        Enum.TryParse<FineTuneMethod>(name.Trim(), ignoreCase: true, out var m) && Enum.IsDefined(m) ? m
        : throw new QuantTuneException($"--method {name}: expected one of {Names}");

    /// <summary>Whether the method trains on a frozen NF4 (double-quantized) backbone.</summary>
    public static bool QuantizesBackbone(this FineTuneMethod m) => m is FineTuneMethod.Qlora or FineTuneMethod.Qst;
}
