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
    /// it is a <see cref="Linear"/> with one (moved to an fp32 <see cref="BitFitLinear"/> bias when
    /// the model is bf16/fp16, see <see cref="PeftDType"/>), or else wraps it in a <see cref="BitFitLinear"/> with a
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
            if (site.Module is Linear { bias: { } bias } linear)
            {
                if (bias.dtype == dtype) bias.requires_grad = true;
                else ModuleSurgery.Replace(model, site.Path, WithFp32Bias(linear, dtype));
            }
            else ModuleSurgery.Replace(model, site.Path, new BitFitLinear(site.Module, site.OutFeatures, dtype, model.Device));
        }
        return new PeftApplied(PeftType, sites.Select(s => s.Path).ToList(), ParameterFreezing.TrainableCount(model));
    }

    /// <summary>
    /// A half-precision linear layer with a bias, as a frozen bias-free copy of it under a
    /// <see cref="BitFitLinear"/> whose (trainable) bias starts as the layer's own, in
    /// <paramref name="dtype"/> (fp32): the bias keeps its path + ".bias" key and trains in fp32.
    /// </summary>
    static BitFitLinear WithFp32Bias(Linear linear, ScalarType dtype)
    {
        using var _ = no_grad();
        var device = linear.weight.device;
        var plain = new Linear(linear.InFeatures, linear.OutFeatures, false, linear.weight.dtype, device);
        plain.weight.copy_(linear.weight);
        plain.weight.requires_grad = false;
        return new BitFitLinear(plain, linear.OutFeatures, dtype, device, linear.bias);
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
        var applied = PeftFiles.Applying(dir, "target_modules", () => Apply(model, config));
        PeftFiles.LoadTensors(dir, StateDict(model));
        return (config, applied);
    }
}
