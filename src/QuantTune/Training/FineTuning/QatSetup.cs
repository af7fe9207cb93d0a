using QuantTune.Models;
using QuantTune.Models.Layers;
using QuantTune.Models.Transformer;
using QuantTune.Qat;
using static TorchSharp.torch;

namespace QuantTune.Training.FineTuning;

/// <summary>
/// The end of a full QAT run (the full method with QAT, see <see cref="QatSpec"/>): the
/// fake-quantized layers become plain linear layers holding their quantized weights.
/// </summary>
public static class QatSetup
{
    /// <summary>
    /// Replaces each fake-quantized layer by a plain linear layer holding its quantized weights
    /// (values on the quantization grid), so the model saves and exports as an ordinary
    /// checkpoint. Activation quantization is not kept by this step; the checkpoint's
    /// <see cref="QatManifest.CheckpointFile"/> records it.
    /// </summary>
    public static void Bake(CausalLM model)
    {
        var layers = model.named_modules().Where(m => m.module is FakeQuantLinear).Select(m => (m.name, (FakeQuantLinear)m.module)).ToList();
        using var _ = no_grad();
        foreach (var (path, q) in layers)
        {
            var plain = new Linear(q.InFeatures, q.OutFeatures, q.bias is not null, q.weight.dtype, q.weight.device);
            using (var w = q.HardQuantizedWeight()) plain.weight.copy_(w);
            if (q.bias is not null) plain.bias!.copy_(q.bias);
            ModuleSurgery.Replace(model, path, plain);
            q.Dispose(); // its weight, bias and scales: the plain layer holds copies, and nothing else holds them
        }
    }
}
