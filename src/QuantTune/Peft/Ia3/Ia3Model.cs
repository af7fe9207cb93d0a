using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Models;
using QuantTune.Models.Transformer;
using QuantTune.Peft.Common;
using static TorchSharp.torch;

namespace QuantTune.Peft.Ia3;

/// <summary>
/// Applies, saves and loads IA³ on a causal LM. Saved as PEFT does: adapter_config.json with
/// <c>peft_type: "IA3"</c> and adapter_model.safetensors with keys
/// <c>base_model.model.&lt;module path&gt;.ia3_l</c>, so PEFT can load the folder and vice versa.
/// </summary>
public static class Ia3Model
{
    public const string PeftType = "IA3";
    const string KeyPrefix = "base_model.model.";

    /// <summary>
    /// Freezes every parameter of <paramref name="model"/> and wraps each target linear layer in an
    /// <see cref="Ia3Linear"/> whose ones-initialised vector is the only trainable parameter.
    /// IA³'s init is deterministic; <paramref name="seed"/> is taken for a uniform API.
    /// </summary>
    public static PeftApplied Apply(CausalLM model, Ia3Config config, long seed = 0)
    {
        _ = seed;
        foreach (var ff in config.FeedforwardModules)
            if (!config.TargetModules.Contains(ff))
                throw new QuantTuneException($"IA3: feedforward module '{ff}' is not among the target modules ({string.Join(", ", config.TargetModules)})");
        var sites = LinearLayers.Matching(model, config.TargetModules, "IA3");
        ParameterFreezing.FreezeAll(model);
        var dtype = PeftDType.For(model.DType);
        foreach (var site in sites)
        {
            bool feedforward = config.FeedforwardModules.Any(t => LinearLayers.Matches(site.Path, t));
            ModuleSurgery.Replace(model, site.Path, new Ia3Linear(site.Module, site.InFeatures, site.OutFeatures, feedforward, dtype, model.Device));
        }
        return new PeftApplied(PeftType, sites.Select(s => s.Path).ToList(), ParameterFreezing.TrainableCount(model));
    }

    /// <summary>The IA³ vectors of a model, keyed as PEFT saves them.</summary>
    public static IReadOnlyDictionary<string, Tensor> StateDict(CausalLM model)
    {
        var layers = model.named_modules().Where(m => m.module is Ia3Linear).ToList();
        if (layers.Count == 0) throw new QuantTuneException("IA3: the model has no IA3 layers (call Ia3Model.Apply first)");
        return layers.ToDictionary(m => KeyPrefix + m.name + ".ia3_l", m => (Tensor)((Ia3Linear)m.module).ia3_l, StringComparer.Ordinal);
    }

    /// <summary>Writes adapter_config.json and adapter_model.safetensors into <paramref name="outDir"/> atomically.</summary>
    public static void Save(CausalLM model, Ia3Config config, string outDir)
    {
        var json = new JsonObject
        {
            ["peft_type"] = PeftType,
            ["task_type"] = "CAUSAL_LM",
            ["base_model_name_or_path"] = config.BaseModelNameOrPath,
            ["target_modules"] = PeftFiles.Array(config.TargetModules),
            ["feedforward_modules"] = PeftFiles.Array(config.FeedforwardModules),
            ["fan_in_fan_out"] = false,
            ["init_ia3_weights"] = true,
            ["modules_to_save"] = null,
            ["inference_mode"] = true,
        };
        PeftFiles.Write(outDir, json, StateDict(model));
    }

    /// <summary>Reads the config in <paramref name="dir"/>, applies it to <paramref name="model"/> and loads the vectors.</summary>
    public static (Ia3Config Config, PeftApplied Applied) Load(CausalLM model, string dir)
    {
        var root = PeftFiles.ReadConfig(dir, PeftType);
        var config = new Ia3Config
        {
            TargetModules = PeftFiles.StringList(root, dir, "target_modules"),
            FeedforwardModules = PeftFiles.StringList(root, dir, "feedforward_modules"),
            BaseModelNameOrPath = PeftFiles.OptionalString(root, dir, "base_model_name_or_path"),
        };
        var applied = PeftFiles.Applying(dir, "target_modules", () => Apply(model, config));
        PeftFiles.LoadTensors(dir, StateDict(model));
        return (config, applied);
    }
}
