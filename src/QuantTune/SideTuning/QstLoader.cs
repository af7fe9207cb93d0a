using QuantTune.Models.Loading;
using QuantTune.Quantization.Layers;
using QuantTune.Quantization.Models;
using static TorchSharp.torch;

namespace QuantTune.SideTuning;

/// <summary>
/// Puts a saved side network on a loaded base model for inference: quantizes the backbone as
/// it was during training (NF4, double quantization) unless it is already quantized, checks
/// that the base matches, and loads the side weights.
/// </summary>
public static class QstLoader
{
    public static QstModel Attach(PretrainedModel pm, string sideDirectory)
    {
        var info = QstCheckpoint.ReadInfo(sideDirectory);
        QstCheckpoint.CheckBase(info, pm.Config, sideDirectory);
        if (!pm.Model.named_modules().Any(m => m.module is QuantizedLinear))
            ModelQuantizer.QuantizeNf4DoubleQuant(pm.Model);
        var config = QstCheckpoint.ConfigOf(info);
        config.Validate(pm.Config, Path.Combine(sideDirectory, QstCheckpoint.ConfigFile));
        var qst = new QstModel(pm.Model, config, seed: 0);
        try
        {
            QstCheckpoint.LoadWeights(qst, sideDirectory);
        }
        catch
        {
            qst.side.Dispose(); // the backbone stays the caller's
            throw;
        }
        qst.eval();
        return qst;
    }
}
