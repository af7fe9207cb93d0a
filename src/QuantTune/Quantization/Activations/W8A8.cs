using QuantTune.Models;
using QuantTune.Models.Layers;
using QuantTune.Models.Transformer;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Activations;

/// <summary>
/// Turns a model's linear layers (all but the LM head) into W8A8 layers: the weight quantized by
/// the given 8-bit quantizer, the input quantized dynamically or statically. Static ranges are
/// the inputs' max |x| (or a percentile) observed while running the calibration windows.
/// </summary>
public static class W8A8
{
    public static IReadOnlyList<string> Apply(CausalLM model, IQuantizer weightQuantizer, ActivationMode mode,
        IReadOnlyList<long[]>? calibrationWindows = null, double? percentile = null)
    {
        var ranges = new Dictionary<string, float>();
        if (mode == ActivationMode.Static)
        {
            if (calibrationWindows is null || calibrationWindows.Count == 0)
                throw new Diagnostics.QuantTuneException("static activation quantization needs calibration data");
            var observers = new Dictionary<string, InputRangeObserver>();
            ModuleSurgery.ReplaceLinears(model, (path, linear) =>
            {
                if (path == "lm_head") return null;
                var o = new InputRangeObserver(linear);
                observers[path] = o;
                return o;
            });
            using (inference_mode())
                foreach (var window in calibrationWindows)
                {
                    using var scope = NewDisposeScope();
                    model.Forward(tensor(window, [1, window.Length], ScalarType.Int64, model.Device));
                }
            foreach (var (path, o) in observers)
            {
                ranges[path] = percentile is double p ? o.Percentile(p) : o.MaxAbs;
                ModuleSurgery.Replace(model, path, o.inner);
            }
        }
        var old = new List<Linear>();
        var layers = ModuleSurgery.ReplaceLinears(model, (path, linear) =>
        {
            if (path == "lm_head") return null;
            old.Add(linear);
            // The detached view lives in a scope; the quantized weight is the layer's to keep.
            using var scope = NewDisposeScope();
            var weight = weightQuantizer.Quantize(linear.weight.detach());
            foreach (var t in weight.Tensors.Values) t.DetachFromDisposeScope();
            return new ActivationQuantizedLinear(weight, linear.bias, mode, mode == ActivationMode.Static ? ranges[path] : null);
        });
        foreach (var l in old) l.Dispose();
        return layers;
    }
}
