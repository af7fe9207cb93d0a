using QuantTune.Models.Config;
using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Models;
using QuantTune.Models.Transformer;
using QuantTune.Peft.Common;
using static TorchSharp.torch;

namespace QuantTune.Peft.Bottleneck;

/// <summary>
/// Applies, saves and loads bottleneck adapters. The folder has PEFT's two file names:
/// adapter_config.json (<c>peft_type: "BOTTLENECK"</c>, <c>bottleneck</c>, <c>placement</c>,
/// <c>base_model_name_or_path</c>) and adapter_model.safetensors with keys
/// <c>base_model.model.&lt;path&gt;.adapter_down.weight</c> etc., in PEFT's key style.
/// </summary>
public static class BottleneckModel
{
    public const string PeftType = "BOTTLENECK";
    const string KeyPrefix = "base_model.model.";

    /// <summary>The projections an adapter follows, by placement.</summary>
    static IReadOnlyList<string> Targets(BottleneckPlacement placement, ModuleNames names)
    {
        var targets = new List<string>();
        if (placement.HasFlag(BottleneckPlacement.Attention)) targets.Add(names.OutputProjection);
        if (placement.HasFlag(BottleneckPlacement.Mlp)) targets.Add(names.DownProjection);
        return targets;
    }

    /// <summary>
    /// Freezes <paramref name="model"/> and wraps o_proj and/or down_proj of every layer; the
    /// adapters' down projections are drawn from <paramref name="seed"/>.
    /// </summary>
    public static PeftApplied Apply(CausalLM model, BottleneckConfig config, long seed)
    {
        if (config.BottleneckSize < 1) throw new QuantTuneException($"BOTTLENECK: bottleneck size must be at least 1, not {config.BottleneckSize}");
        var targets = Targets(config.Placement, model.Config.Names);
        if (targets.Count == 0) throw new QuantTuneException($"BOTTLENECK: placement {config.Placement} selects no module (attention, mlp or both)");
        var sites = LinearLayers.Matching(model, targets, "BOTTLENECK");
        ParameterFreezing.FreezeAll(model);
        var dtype = PeftDType.For(model.DType);
        using var generator = new Generator((ulong)seed);
        foreach (var site in sites)
            ModuleSurgery.Replace(model, site.Path, new BottleneckLinear(site.Module, site.OutFeatures, config.BottleneckSize, dtype, model.Device, generator));
        return new PeftApplied(PeftType, sites.Select(s => s.Path).ToList(), ParameterFreezing.TrainableCount(model));
    }

    /// <summary>The adapters' parameters, keyed as saved.</summary>
    public static IReadOnlyDictionary<string, Tensor> StateDict(CausalLM model)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (path, module) in model.named_modules())
        {
            if (module is not BottleneckLinear b) continue;
            foreach (var (name, p) in b.adapter_down.named_parameters()) result[$"{KeyPrefix}{path}.adapter_down.{name}"] = p;
            foreach (var (name, p) in b.adapter_up.named_parameters()) result[$"{KeyPrefix}{path}.adapter_up.{name}"] = p;
        }
        if (result.Count == 0) throw new QuantTuneException("BOTTLENECK: the model has no bottleneck adapters (call BottleneckModel.Apply first)");
        return result;
    }

    public static void Save(CausalLM model, BottleneckConfig config, string outDir)
    {
        var json = new JsonObject
        {
            ["peft_type"] = PeftType,
            ["task_type"] = "CAUSAL_LM",
            ["base_model_name_or_path"] = config.BaseModelNameOrPath,
            ["bottleneck"] = config.BottleneckSize,
            ["placement"] = BottleneckConfig.PlacementName(config.Placement),
        };
        PeftFiles.Write(outDir, json, StateDict(model));
    }

    public static (BottleneckConfig Config, PeftApplied Applied) Load(CausalLM model, string dir)
    {
        var root = PeftFiles.ReadConfig(dir, PeftType);
        var placementName = PeftFiles.OptionalString(root, dir, "placement");
        var placement = BottleneckConfig.ParsePlacement(placementName)
            ?? throw new InvalidFormatException(Path.Combine(dir, PeftFiles.ConfigFile), "placement", $"is '{placementName}'; expected attention, mlp or both");
        var config = new BottleneckConfig
        {
            BottleneckSize = PeftFiles.Int(root, dir, "bottleneck"),
            Placement = placement,
            BaseModelNameOrPath = PeftFiles.OptionalString(root, dir, "base_model_name_or_path"),
        };
        if (config.BottleneckSize < 1)
            throw new InvalidFormatException(Path.Combine(dir, PeftFiles.ConfigFile), "bottleneck", $"is {config.BottleneckSize}; expected a size of at least 1");
        long sites = (long)Targets(placement, model.Config.Names).Count * model.Config.NumLayers;
        PeftFiles.FitsWeights(dir, "bottleneck", config.BottleneckSize, () => checked(2L * config.BottleneckSize * model.Config.HiddenSize * sites));
        var applied = PeftFiles.Applying(dir, "placement", () => Apply(model, config, seed: 0));
        PeftFiles.LoadTensors(dir, StateDict(model));
        return (config, applied);
    }
}
