using QuantTune.Diagnostics;
using QuantTune.Models;
using static TorchSharp.torch;

namespace QuantTune.Qat;

/// <summary>
/// Runs a model as its QAT training saw it. A checkpoint saved by full QAT fine-tuning
/// (or BitNet b1.58 pretraining) holds its quantized weights and names its QAT in
/// <see cref="QatManifest.CheckpointFile"/>; the activation quantization the layers trained with
/// is not in the weights, so it is put back here. BitNet b1.58 layers become
/// <see cref="PackedBitLinear158"/> (2-bit weights, the add-only <see cref="TernaryKernel"/>) when
/// <c>packTernary</c>, else frozen dense layers with the same 8-bit activations.
/// </summary>
public static class QatInference
{
    /// <summary>What <see cref="Apply"/> did, for the user.</summary>
    public sealed record Result(QatSpec Spec, IReadOnlyList<string> Layers, bool Packed);

    /// <summary>Converts <paramref name="model"/> loaded from <paramref name="checkpoint"/>; null (no change) when it is not a QAT checkpoint.</summary>
    public static Result? Apply(nn.Module model, string checkpoint, bool packTernary)
    {
        if (QatManifest.Load(checkpoint, QatManifest.CheckpointFile) is not { } spec) return null;
        bool pack = packTernary && spec.Kind == "bitnet158";
        if (!pack && spec.ActivationBits is null) return new Result(spec, [], false); // weight-only: the plain layers already compute it
        // A packed layer copies what it needs (trits, γ, bias), so the dense layer it replaces is freed;
        // a frozen layer takes over the dense layer's parameters, so that one is not.
        var replaced = new List<nn.Module>();
        var layers = ModuleSurgery.ReplaceLinears(model, (path, linear) =>
        {
            if (path == QatSpec.Head) return null;
            if (!pack) return new FrozenQuantLinear(linear, spec.ActivationBits);
            replaced.Add(linear);
            return PackedBitLinear158.FromTernary(linear, path);
        });
        foreach (var old in replaced) old.Dispose();
        if (layers.Count == 0) throw new QuantTuneException($"{checkpoint}: {QatManifest.CheckpointFile} names QAT {spec.Kind}, but the model has no full-precision linear layer to run through it");
        return new Result(spec, layers, pack);
    }

    /// <summary>Replaces every <see cref="BitLinear158"/> of a model being trained by its packed inference layer. Returns the paths.</summary>
    public static IReadOnlyList<string> PackBitLinear158(nn.Module model)
    {
        var layers = model.named_modules().Where(m => m.module is BitLinear158).Select(m => (m.name, (BitLinear158)m.module)).ToList();
        foreach (var (path, layer) in layers) ModuleSurgery.Replace(model, path, PackedBitLinear158.From(layer));
        return layers.Select(l => l.name).ToList();
    }
}
