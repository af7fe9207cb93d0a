using System.Text.Json;
using QuantTune.Diagnostics;
using QuantTune.Models.Transformer;
using QuantTune.Peft.BitFit;
using QuantTune.Peft.Bottleneck;
using QuantTune.Peft.Ia3;
using QuantTune.Peft.Lora;
using QuantTune.Peft.PromptTuning;
using static TorchSharp.torch;

namespace QuantTune.Peft;

/// <summary>
/// Loads any adapter folder QuantTune writes (or PEFT writes, for LoRA/DoRA, IA3 and prompt
/// tuning) onto a model, by its <c>peft_type</c>, or a llama.cpp LoRA adapter <c>.gguf</c> file. Returns the forward to use: the model's own,
/// or the prompt-tuning wrapper's (which prepends the learned virtual tokens).
/// </summary>
public static class AnyAdapter
{
    public static (string PeftType, Func<Tensor, Tensor> Forward) Load(CausalLM model, string directory)
    {
        if (File.Exists(directory) && directory.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
        {
            // A llama.cpp LoRA adapter (export gguf-adapter, convert_lora_to_gguf.py).
            Formats.Gguf.GgufLoraImport.Load(model, directory);
            return ("LORA", ids => model.Forward(ids));
        }
        IO.AtomicDirectory.RestoreIfMissing(directory);
        var config = Path.Combine(directory, "adapter_config.json");
        if (!File.Exists(config)) throw new QuantTuneException($"{config}: not found; expected an adapter folder (adapter_config.json + adapter_model.safetensors)");
        string type;
        using (var doc = IO.JsonFile.ReadObject(config))
            type = doc.RootElement.TryGetProperty("peft_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
        Func<Tensor, Tensor> plain = ids => model.Forward(ids);
        switch (type)
        {
            case "IA3": Ia3Model.Load(model, directory); return (type, plain);
            case "BOTTLENECK": BottleneckModel.Load(model, directory); return (type, plain);
            case "BITFIT": BitFitModel.Load(model, directory); return (type, plain);
            case "PROMPT_TUNING":
                var (prompt, _) = PromptTuningModel.Load(model, directory);
                return (type, ids => prompt.Forward(ids));
            default:
                // LoRA/DoRA, and a clear message for anything else.
                AdapterIO.Load(model, directory);
                return ("LORA", plain);
        }
    }
}
