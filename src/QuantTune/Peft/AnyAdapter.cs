using System.Text.Json;
using QuantTune.Diagnostics;
using QuantTune.Models.Transformer;
using static TorchSharp.torch;

namespace QuantTune.Peft;

/// <summary>
/// Loads any adapter folder QuantTune writes (or PEFT writes, for LoRA/DoRA, IA3 and prompt
/// tuning) onto a model, by its <c>peft_type</c>, or a llama.cpp LoRA adapter <c>.gguf</c> file. Returns the forward to use: the model's own,
/// or the prompt-tuning wrapper's (which prepends the learned virtual tokens).
/// </summary>
public static class AnyAdapter
{
    /// <returns>The adapter's <c>peft_type</c>, the forward to use, and whether that forward wraps the model's (prompt tuning).</returns>
    public static (string PeftType, Func<Tensor, Tensor> Forward, bool WrapsForward) Load(CausalLM model, string directory)
    {
        if (File.Exists(directory) && directory.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
        {
            // A llama.cpp LoRA adapter (export gguf-adapter, convert_lora_to_gguf.py).
            Formats.Gguf.GgufLoraImport.Load(model, directory);
            return (Lora.LoraConfig.Type, ids => model.Forward(ids), false);
        }
        IO.AtomicDirectory.RestoreIfMissing(directory);
        var config = Path.Combine(directory, "adapter_config.json");
        if (!File.Exists(config)) throw new QuantTuneException($"{config}: not found; expected an adapter folder (adapter_config.json + adapter_model.safetensors)");
        string type;
        using (var doc = IO.JsonFile.ReadObject(config))
            type = doc.RootElement.TryGetProperty("peft_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
        // An unknown or missing peft_type goes to LoRA's reader, which names what it expected.
        var kind = Registry.PeftAdapterTypes.Find(type) ?? Registry.PeftAdapterTypes.Find(Lora.LoraConfig.Type)!;
        var wrapped = kind.Load(model, directory);
        return (kind.PeftType, wrapped ?? (ids => model.Forward(ids)), wrapped is not null);
    }
}
