using QuantTune.Diagnostics;

namespace QuantTune.Training.FineTuning;

/// <summary>The fine-tuning methods, as <see cref="FineTuneRequest.Method"/> names them.</summary>
public enum FineTuneMethod { Full, Lora, Qlora, Dora, Adapter, Ia3, Prompt, Bitfit, Qst }

public static class FineTuneMethods
{
    /// <summary>The registered methods' names, in the registry's order.</summary>
    public static string Names => string.Join(", ", Methods.FineTuneMethodRegistry.All.Select(m => m.Name));

    public static FineTuneMethod Parse(string name) =>
        Methods.FineTuneMethodRegistry.All.FirstOrDefault(m => string.Equals(m.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))?.Id
        ?? throw new InvalidSettingException("FineTuneRequest.Method", name, $"expected one of {Names}");
}
