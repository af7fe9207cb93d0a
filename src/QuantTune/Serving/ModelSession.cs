using QuantTune.Generation;
using QuantTune.Diagnostics;
using QuantTune.Models.Loading;
using QuantTune.Peft;
using QuantTune.Qat;
using QuantTune.Quantization.Models;
using QuantTune.SideTuning;
using static TorchSharp.torch;

namespace QuantTune.Serving;

/// <summary>
/// A model loaded to generate and evaluate with: a checkpoint folder (plain or quantized) or GGUF, optionally
/// with an adapter or a QST side network on top.
/// <see cref="Forward"/> is null when the plain causal LM (with its KV cache) applies;
/// <see cref="Decoding"/> is the incremental decoder of a model that has its own caches (QST).
/// </summary>
public sealed class ModelSession : IDisposable
{
    public required PretrainedModel Pretrained { get; init; }
    public Func<Tensor, Tensor>? Forward { get; init; }
    public Func<IDecodingSession>? Decoding { get; init; }
    public string? Extra { get; init; }

    /// <summary>Generates from this model: incrementally (the plain LM's KV cache, QST's two caches), or, for a prompt-tuned model, by rerunning the sequence.</summary>
    public IEnumerable<int> Generate(IReadOnlyList<int> promptIds, SamplingOptions options) =>
        Decoding is not null ? TextGenerator.Generate(Decoding, Pretrained.Model.Device, Pretrained.Config.EosTokenIds, promptIds, options)
        : Forward is not null ? TextGenerator.Generate(Forward, Pretrained.Model.Device, Pretrained.Config.EosTokenIds, promptIds, options)
        : TextGenerator.Generate(Pretrained.Model, promptIds, options);

    /// <summary>
    /// Opens the model. A QAT checkpoint gets back the activation quantization it trained with
    /// (<see cref="QatInference"/>); a BitNet b1.58 one runs on the packed ternary kernel when the
    /// device is the CPU, no adapter is loaded and <paramref name="denseBitNet"/> is off.
    /// </summary>
    public static ModelSession Open(string model, ScalarType dtype, Device device, string? adapter, string? qst, bool denseBitNet = false)
    {
        if (adapter is not null && qst is not null) throw new QuantTuneException("adapter and qst: give one or the other, not both");
        if (qst is not null && Directory.Exists(model) && QatManifest.Load(model, QatManifest.CheckpointFile) is { } trained)
            throw new QuantTuneException($"qst: {model} is a quantization-aware ({trained.Kind}) checkpoint; a QST side network runs on an NF4 backbone, not on it");
        // A QST side network runs on an NF4 backbone (double quantization): quantized layer by layer as it is read.
        // A GGUF file's quantized linears stay on their blocks unless an adapter or a side network needs float linears to wrap.
        var pm = PretrainedModel.Load(model, dtype, device, quantize: LayerQuantizer.ForBackbone(qst is not null),
            keepGgufBlocks: adapter is null && qst is null);
        try
        {
            var qat = QatInference.Apply(pm.Model, model, packTernary: device.type == TorchSharp.DeviceType.CPU && adapter is null && qst is null && !denseBitNet);
            string? how = qat is { Layers.Count: > 0 } ? $"QAT {qat.Spec.Kind} checkpoint: {qat.Layers.Count} layers {(qat.Packed ? "packed to 2-bit ternary (add-only kernel)" : $"with {qat.Spec.ActivationBits}-bit activations")}" : null;
            if (qst is not null)
            {
                var side = QstLoader.Attach(pm, qst);
                return new ModelSession { Pretrained = pm, Forward = ids => side.Forward(ids), Decoding = () => new QstDecoding(side), Extra = $"QST side network {qst}" };
            }
            if (adapter is not null)
            {
                var (type, forward, wraps) = AnyAdapter.Load(pm.Model, adapter);
                pm.Model.eval();
                return new ModelSession { Pretrained = pm, Forward = wraps ? forward : null, Extra = $"{type} adapter {adapter}" };
            }
            return new ModelSession { Pretrained = pm, Extra = how };
        }
        catch
        {
            pm.Dispose();
            throw;
        }
    }

    public void Dispose() => Pretrained.Dispose();
}
