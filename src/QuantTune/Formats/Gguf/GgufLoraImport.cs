using System.Text.RegularExpressions;
using QuantTune.Diagnostics;
using QuantTune.Formats.Gguf.Architectures;
using QuantTune.Models;
using QuantTune.Models.Transformer;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using static TorchSharp.torch;

namespace QuantTune.Formats.Gguf;

/// <summary>
/// Loads a llama.cpp LoRA adapter GGUF (<see cref="GgufLoraExport"/>, or convert_lora_to_gguf.py's
/// output) onto a llama model as QuantTune LoRA layers: lora_b of attn_q/attn_k un-permuted, each
/// pair's rank read from its shape, scaling alpha / r (1 when alpha is 0, as llama.cpp does).
/// Every tensor and shape is checked before the model changes.
/// </summary>
public static class GgufLoraImport
{
    public static LoraConfig Load(CausalLM model, string path, bool trainable = false)
    {
        using var file = GgufFile.Open(path);
        Expect(file, "general.type", "adapter");
        Expect(file, "adapter.type", "lora");
        Expect(file, "general.architecture", "llama");
        double alpha = file.OptionalNumber("adapter.lora.alpha") ?? 0;
        if (!double.IsFinite(alpha) || alpha < 0)
            throw new InvalidFormatException(path, "adapter.lora.alpha", $"is {alpha}; expected a non-negative number");

        var pairs = new SortedDictionary<string, (GgufTensorInfo? A, GgufTensorInfo? B)>(StringComparer.Ordinal);
        foreach (var info in file.Tensors)
        {
            bool isA = info.Name.EndsWith(GgufLoraExport.LoraA, StringComparison.Ordinal), isB = info.Name.EndsWith(GgufLoraExport.LoraB, StringComparison.Ordinal);
            if (!isA && !isB) throw new InvalidFormatException(path, info.Name, $"is not a LoRA tensor; expected <tensor>{GgufLoraExport.LoraA} or {GgufLoraExport.LoraB}");
            string baseName = info.Name[..^GgufLoraExport.LoraA.Length];
            string module = LlamaTensorNames.ToHf(baseName) is string hf && hf.EndsWith(".weight", StringComparison.Ordinal) ? hf[..^".weight".Length]
                : throw new InvalidFormatException(path, info.Name, "adapts a tensor QuantTune's llama model does not have");
            var pair = pairs.GetValueOrDefault(module);
            pairs[module] = isA ? (info, pair.B) : (pair.A, info);
        }
        if (pairs.Count == 0) throw new InvalidFormatException(path, "tensors", "the adapter has no LoRA tensors");

        var ranks = new Dictionary<string, int>();
        foreach (var (module, (infoA, infoB)) in pairs)
        {
            if (infoA is null || infoB is null)
                throw new InvalidFormatException(path, (infoA ?? infoB)!.Name, $"has no {(infoA is null ? GgufLoraExport.LoraA : GgufLoraExport.LoraB)} partner");
            var (inF, outF) = AdapterIO.Features(ModuleSurgery.Find(model, module));
            long[] sa = infoA.Shape, sb = infoB.Shape;
            if (sa.Length != 2 || sb.Length != 2 || sa[1] != inF || sb[0] != outF || sa[0] != sb[1] || sa[0] <= 0)
                throw new InvalidFormatException(path, infoA.Name, $"and {infoB.Name} have shapes [{string.Join(", ", sa)}] and [{string.Join(", ", sb)}]; expected [r, {inF}] and [{outF}, r] for {module}");
            ranks[module] = (int)sa[0];
        }
        int r = ranks.Values.GroupBy(x => x).MaxBy(g => g.Count())!.Key;
        var config = new LoraConfig
        {
            R = r,
            LoraAlpha = alpha == 0 ? r : alpha,
            TargetModules = PeftTargets.FromNames(pairs.Keys),
            RankPattern = ranks.Where(x => x.Value != r).ToDictionary(x => Regex.Escape(x.Key), x => x.Value),
            // llama.cpp: scale = alpha ? alpha / rank : 1.
            AlphaPattern = alpha == 0 ? ranks.Where(x => x.Value != r).ToDictionary(x => Regex.Escape(x.Key), x => (double)x.Value) : new Dictionary<string, double>(),
        };

        LoraModel.Apply(model, config);
        using var _ = no_grad();
        var cfg = model.Config;
        foreach (var (module, lora) in LoraModel.Layers(model))
        {
            var (infoA, infoB) = pairs[module];
            Copy(file.ReadTensor(infoA!.Name), lora.lora_A.weight);
            float[] b = file.ReadTensor(infoB!.Name);
            if (LlamaTensorNames.PermuteHeads(infoB.Name[..^GgufLoraExport.LoraB.Length], cfg.NumHeads, cfg.NumKvHeads) is int heads)
                b = LlamaRowPermutation.Unpermute(b, (int)infoB.Shape[0], (int)infoB.Shape[1], heads);
            Copy(b, lora.lora_B.weight);
            foreach (var p in lora.parameters().Where(p => p.requires_grad)) p.requires_grad = trainable;
        }
        return config;
    }

    static void Copy(float[] values, Tensor destination)
    {
        using var t = tensor(values, destination.shape);
        destination.copy_(t);
    }

    static void Expect(GgufFile file, string key, string value)
    {
        string? actual = file.OptionalString(key);
        if (actual != value)
            throw new InvalidFormatException(file.Path, key, $"is {(actual is null ? "missing" : $"'{actual}'")}; expected '{value}' (a llama.cpp LoRA adapter for a llama model)");
    }
}
