using QuantTune.Diagnostics;
using QuantTune.Models.Layers;
using QuantTune.Quantization.Layers;
using static TorchSharp.torch;

namespace QuantTune.Peft.Common;

/// <summary>
/// Finds the linear layers a PEFT method may wrap: full-precision <see cref="Linear"/> and frozen
/// 4-bit <see cref="QuantizedLinear"/> alike, so that every method works on a quantized base
/// (QLoRA-style) without knowing how the weight is stored.
/// </summary>
public static class LinearLayers
{
    /// <summary>A linear layer at <paramref name="Path"/> with its feature sizes.</summary>
    public sealed record Site(string Path, nn.Module<Tensor, Tensor> Module, long InFeatures, long OutFeatures);

    /// <summary>In and out features of a linear-like module, or null for any other module.</summary>
    public static (long In, long Out)? Shape(nn.Module module) => module switch
    {
        Linear l => (l.InFeatures, l.OutFeatures),
        QuantizedLinear q => (q.InFeatures, q.OutFeatures),
        _ => null,
    };

    /// <summary>Every linear-like module under <paramref name="root"/> (dotted paths), in registration order.</summary>
    public static IReadOnlyList<Site> All(nn.Module root) =>
        root.named_modules()
            .Select(m => (m.name, m.module, shape: Shape(m.module)))
            .Where(m => m.shape is not null)
            .Select(m => new Site(m.name, (nn.Module<Tensor, Tensor>)m.module, m.shape!.Value.In, m.shape!.Value.Out))
            .ToList();

    /// <summary>
    /// PEFT's rule for a target name: a module matches when its path equals the target or ends
    /// with "." + target (so "k_proj" matches "model.layers.3.self_attn.k_proj").
    /// </summary>
    public static bool Matches(string path, string target) =>
        path == target || path.EndsWith("." + target, StringComparison.Ordinal);

    /// <summary>
    /// The linear layers matching any of <paramref name="targets"/>. A target that matches nothing
    /// is an error naming it: a misspelt target would otherwise silently train nothing there.
    /// </summary>
    public static IReadOnlyList<Site> Matching(nn.Module root, IReadOnlyCollection<string> targets, string method)
    {
        if (targets.Count == 0) throw new QuantTuneException($"{method}: no target modules given");
        var all = All(root);
        foreach (var target in targets)
            if (!all.Any(s => Matches(s.Path, target)))
                throw new QuantTuneException($"{method}: target module '{target}' matches no linear layer of the model");
        return all.Where(s => targets.Any(t => Matches(s.Path, t))).ToList();
    }
}
