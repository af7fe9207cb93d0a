using QuantTune.Models;
using QuantTune.Models.Layers;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Models;

/// <summary>
/// Quantizes a loaded model's linear layers in place (<see cref="LayerQuantizer"/>): each becomes a
/// <see cref="Layers.QuantizedLinear"/> holding only the packed weight. The LM head stays in floating
/// point (as bitsandbytes and transformers leave it), as do embeddings and norms.
/// </summary>
public static class ModelQuantizer
{
    public static readonly string[] DefaultSkip = ["lm_head"];

    public sealed record Result(IReadOnlyList<string> Layers, long OriginalWeightBytes, long QuantizedWeightBytes, double WeightMse, long QuantizedElements)
    {
        public double BitsPerWeight => QuantizedWeightBytes * 8.0 / QuantizedElements;
    }

    /// <summary>The frozen backbone of QLoRA and QST (<see cref="LayerQuantizer.Nf4DoubleQuant"/>).</summary>
    public static Result QuantizeNf4DoubleQuant(nn.Module model) => Quantize(model, LayerQuantizer.Nf4DoubleQuant());

    /// <param name="originalDType">the dtype the weights came in (recorded for bitsandbytes; bf16 for most checkpoints)</param>
    public static Result Quantize(nn.Module model, IQuantizer quantizer, ScalarType originalDType, IEnumerable<string>? skip = null,
        IProgress<(long Done, long Total)>? progress = null) =>
        Quantize(model, new LayerQuantizer(quantizer, originalDType, skip), progress);

    /// <summary>Runs <paramref name="layers"/> over every linear layer of <paramref name="model"/> it takes.</summary>
    public static Result Quantize(nn.Module model, LayerQuantizer layers, IProgress<(long Done, long Total)>? progress = null)
    {
        long total = model.named_modules().Count(m => m.module is Linear && layers.Takes(m.name)), done = 0;
        var replaced = new List<Linear>();
        ModuleSurgery.ReplaceLinears(model, (path, linear) =>
        {
            if (!layers.Takes(path)) return null;
            var layer = layers.Quantize(path, linear);
            replaced.Add(linear);
            progress?.Report((++done, total));
            return layer;
        });
        foreach (var old in replaced) old.Dispose();
        return layers.Result;
    }
}
