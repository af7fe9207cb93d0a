using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Models;
using QuantTune.Models.Layers;
using QuantTune.Models.Transformer;
using QuantTune.Peft.Common;
using static TorchSharp.torch;

namespace QuantTune.Peft.BitFit;

/// <summary>
/// Applies, saves and loads BitFit. adapter_model.safetensors holds the bias tensors under their
/// module paths without PEFT's prefix (<c>model.layers.0.self_attn.q_proj.bias</c>): those are
/// the keys a Hugging Face checkpoint with biases uses, so the file reads as a partial state dict.
/// adapter_config.json: <c>peft_type: "BITFIT"</c>, <c>target_modules</c>, <c>base_model_name_or_path</c>.
/// </summary>
public static class BitFitModel
{
    public const string PeftType = "BITFIT";

    /// <summary>
    /// Freezes <paramref name="model"/>, then for each targeted linear layer unfreezes its bias when
    /// it is a <see cref="Linear"/> with one, or else wraps it in a <see cref="BitFitLinear"/> with a
    /// zero bias. The LM head is never targeted. Zero init is deterministic; <paramref name="seed"/>
    /// is taken for a uniform API.
    /// </summary>
    public static PeftApplied Apply(CausalLM model, BitFitConfig config, long seed = 0)
    {
        _ = seed;
        var sites = (config.TargetModules.Count == 0 ? LinearLayers.All(model) : LinearLayers.Matching(model, config.TargetModules, "BITFIT"))
            .Where(s => s.Path != "lm_head")
            .ToList();
        if (sites.Count == 0) throw new QuantTuneException("BITFIT: no linear layer to train a bias in (the LM head is excluded)");
        ParameterFreezing.FreezeAll(model);
        var dtype = PeftDType.For(model.DType);
        foreach (var site in sites)
        {
            if (site.Module is Linear { bias: { } bias }) bias.requires_grad = true;
            else ModuleSurgery.Replace(model, site.Path, new BitFitLinear(site.Module, site.OutFeatures, dtype, model.Device));
        }
        return new PeftApplied(PeftType, sites.Select(s => s.Path).ToList(), ParameterFreezing.TrainableCount(model));
    }

    /// <summary>The trained biases keyed by their module path + ".bias".</summary>
    public static IReadOnlyDictionary<string, Tensor> StateDict(CausalLM model)
    {
        var result = model.named_parameters()
            .Where(p => p.parameter.requires_grad && p.name.EndsWith(".bias", StringComparison.Ordinal))
            .ToDictionary(p => p.name, p => (Tensor)p.parameter, StringComparer.Ordinal);
        if (result.Count == 0) throw new QuantTuneException("BITFIT: the model has no trainable biases (call BitFitModel.Apply first)");
        return result;
    }

    public static void Save(CausalLM model, BitFitConfig config, string outDir)
    {
        var json = new JsonObject
        {
            ["peft_type"] = PeftType,
            ["task_type"] = "CAUSAL_LM",
            ["base_model_name_or_path"] = config.BaseModelNameOrPath,
            ["target_modules"] = config.TargetModules.Count == 0 ? null : PeftFiles.Array(config.TargetModules),
        };
        PeftFiles.Write(outDir, json, StateDict(model));
    }

    public static (BitFitConfig Config, PeftApplied Applied) Load(CausalLM model, string dir)
    {
        var root = PeftFiles.ReadConfig(dir, PeftType);
        var config = new BitFitConfig
        {
            TargetModules = PeftFiles.StringList(root, dir, "target_modules"),
            BaseModelNameOrPath = PeftFiles.OptionalString(root, dir, "base_model_name_or_path"),
        };
        var applied = Apply(model, config);
        PeftFiles.LoadTensors(dir, StateDict(model));
        return (config, applied);
    }
}
