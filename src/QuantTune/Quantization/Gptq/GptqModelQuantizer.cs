using QuantTune.Models.Config;
using System.Diagnostics;
using QuantTune.Diagnostics;
using QuantTune.Models;
using QuantTune.Models.Layers;
using QuantTune.Models.Transformer;
using QuantTune.Quantization.Layers;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Gptq;

/// <summary>
/// GPTQ over a whole causal LM, decoder layer by decoder layer (gptq.py llama_sequential): the
/// calibration samples' hidden states enter layer i as the already-quantized layers &lt; i left
/// them; within a layer the linears are solved in "true sequential" groups (q/k/v, o, gate/up,
/// down), each group's Hessian captured from a forward pass through the layer whose earlier
/// groups are already quantized. Linears that read the same input (q/k/v, gate/up) share one
/// Hessian and its factorisation. Every linear of the decoder layers becomes a
/// <see cref="QuantizedLinear"/> holding a <see cref="GptqTensor"/>; embeddings, norms and the LM head
/// stay in floating point.
/// </summary>
public static class GptqModelQuantizer
{
    /// <summary>Linears that read the same input, in the order true-sequential GPTQ quantizes them, under the family's module names (GPT-2: attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj).</summary>
    static string[][] SharedInputs(ModuleNames n) =>
    [
        [$"{n.Attention}.q_proj", $"{n.Attention}.k_proj", $"{n.Attention}.v_proj", $"{n.Attention}.{n.Qkv}"],
        [n.OutputProjection],
        [$"{n.Mlp}.gate_proj", $"{n.Mlp}.{n.Up}", $"{n.Mlp}.gate_up_proj"],
        [n.DownProjection],
    ];

    /// <summary>Sequences per forward pass through a layer.</summary>
    public const int BatchSize = 8;

    public static GptqModelResult Quantize(CausalLM model, IReadOnlyList<long[]> samples, GptqSettings settings, GptqMethod method = GptqMethod.Gptq,
        IProgress<GptqLayerReport>? progress = null, CancellationToken cancel = default)
    {
        settings.Validate();
        if (model.Config.LayersNeedMoreThanTheirInput is string why)
            throw new QuantTuneException($"GPTQ calibrates the layers one at a time, which {why} does not allow; not supported");
        if (samples.Count == 0) throw new QuantTuneException("GPTQ: no calibration samples");
        int length = samples[0].Length;
        if (samples.Any(s => s.Length != length)) throw new QuantTuneException("GPTQ: calibration samples must all have the same length");
        var total = Stopwatch.StartNew();
        var stack = model.model;
        var quantized = new Dictionary<string, GptqTensor>();
        var reports = new List<GptqLayerReport>();
        var inputs = new List<Tensor>();
        try
        {
            using (no_grad())
                foreach (var batch in samples.Chunk(BatchSize))
                {
                    using var scope = NewDisposeScope(); // the embedding's flattened ids and rows
                    var ids = tensor(batch.SelectMany(s => s).ToArray(), [batch.Length, length], ScalarType.Int64, model.Device);
                    inputs.Add(stack.LayerInput(ids, 0).DetachFromDisposeScope());
                }
            int layers = stack.layers.Count;
            for (int i = 0; i < layers; i++)
            {
                cancel.ThrowIfCancellationRequested();
                var clock = Stopwatch.StartNew();
                var (cos, sin) = stack.RopeTables(i, 0, length, model.DType);
                using var cosView = cos;
                using var sinView = sin;
                var layer = stack.layers[i];
                var prefix = $"{model.Config.Names.Layer(i)}.";
                var linears = layer.named_modules().Where(m => m.module is Linear).ToDictionary(m => m.name, m => (Linear)m.module);
                if (linears.Count == 0) throw new QuantTuneException($"GPTQ: decoder layer {i} has no floating-point linear layer to quantize (is the model already quantized?)");
                var reportsOfLayer = new List<GptqLinearReport>();
                var sets = InputSets(linears.Keys, SharedInputs(model.Config.Names)).ToList();
                var passes = settings.TrueSequential ? sets.Select(set => new[] { set }).ToList() : [sets.ToArray()];
                foreach (var pass in passes)
                {
                    var captures = pass.Select(set => new HessianCapture(linears[set[0]], linears[set[0]].InFeatures, linears[set[0]].weight.device)).ToArray();
                    try
                    {
                        try
                        {
                            for (int k = 0; k < pass.Length; k++) ModuleSurgery.Replace(layer, pass[k][0], captures[k]);
                            RunLayer(layer, inputs, cos, sin, i, replace: false);
                        }
                        finally
                        {
                            foreach (var set in pass) ModuleSurgery.Replace(layer, set[0], linears[set[0]]);
                        }
                        for (int k = 0; k < pass.Length; k++)
                            SolvePass(prefix, pass[k], linears, captures[k].Accumulator, settings, method, quantized, reportsOfLayer);
                    }
                    finally
                    {
                        foreach (var capture in captures) capture.Accumulator.Dispose();
                    }
                }
                RunLayer(layer, inputs, cos, sin, i, replace: true);
                var layerReport = new GptqLayerReport(i, layers, clock.Elapsed.TotalSeconds, reportsOfLayer);
                reports.Add(layerReport);
                progress?.Report(layerReport);
            }
        }
        catch
        {
            foreach (var t in quantized.Values) t.Dispose();
            throw;
        }
        finally
        {
            foreach (var x in inputs) x.Dispose();
        }

        var replaced = new List<Linear>();
        ModuleSurgery.ReplaceLinears(model, (path, linear) =>
        {
            if (!quantized.TryGetValue(path, out var weight)) return null;
            replaced.Add(linear);
            return new QuantizedLinear(weight, linear.bias);
        });
        foreach (var old in replaced) old.Dispose();
        return new GptqModelResult(reports, settings, method, samples.Count, length, total.Elapsed.TotalSeconds);
    }

    /// <summary>Solves the linears of one input set from their shared Hessian (one factorisation for all of them).</summary>
    static void SolvePass(string prefix, string[] set, Dictionary<string, Linear> linears, HessianAccumulator accumulator, GptqSettings settings,
        GptqMethod method, Dictionary<string, GptqTensor> quantized, List<GptqLinearReport> reports)
    {
        var clock = Stopwatch.StartNew();
        using var prepared = method == GptqMethod.Gptq ? GptqSolver.Prepare(accumulator.Hessian, settings) : null;
        double prepare = clock.Elapsed.TotalSeconds;
        foreach (var p in set)
        {
            var (tensor, report) = QuantizeLinear(prefix + p, linears[p], accumulator.Hessian, prepared, settings, method);
            quantized[prefix + p] = tensor;
            // The shared factorisation is counted with the first linear that uses it.
            reports.Add(report with { Seconds = report.Seconds + prepare });
            prepare = 0;
        }
    }

    /// <summary>Solves one linear, writes the dequantized weights back (so later layers see them) and measures both methods.</summary>
    static (GptqTensor Tensor, GptqLinearReport Report) QuantizeLinear(string name, Linear linear, Tensor hessian, GptqHessian? prepared,
        GptqSettings settings, GptqMethod method)
    {
        var clock = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var weight = linear.weight.detach();
        settings.ValidateFor(name, weight.shape[1]);
        using var result = prepared is not null ? GptqSolver.Quantize(weight, prepared, settings) : GptqGrid.RoundToNearest(weight, settings);
        // The solve ran on the CPU; the quantized layer lives where the model does.
        var tensor = result.ToTensor();
        if (weight.device_type != TorchSharp.DeviceType.CPU)
        {
            var moved = (GptqTensor)tensor.To(weight.device);
            tensor.Dispose();
            tensor = moved;
        }
        foreach (var t in tensor.Tensors.Values) t.DetachFromDisposeScope();
        double seconds = clock.Elapsed.TotalSeconds;

        clock.Restart();
        double error = result.OutputError(weight, hessian), rtnError = error;
        if (method == GptqMethod.Gptq)
        {
            using var rtn = GptqGrid.RoundToNearest(weight, settings);
            rtnError = rtn.OutputError(weight, hessian);
        }
        double signal = GptqResult.OutputError(weight, zeros_like(weight), hessian);
        linear.weight.copy_(result.Weights);
        var report = new GptqLinearReport(name, weight.shape[0], weight.shape[1], error, rtnError, signal, seconds, clock.Elapsed.TotalSeconds);
        return (tensor, report);
    }

    /// <summary>Runs every input batch through the layer; with <paramref name="replace"/> the outputs become the next layer's inputs.</summary>
    static void RunLayer(DecoderLayer layer, List<Tensor> inputs, Tensor cos, Tensor sin, int index, bool replace)
    {
        using var _ = no_grad();
        for (int b = 0; b < inputs.Count; b++)
        {
            using var scope = NewDisposeScope(); // the layer's temporaries, and the output unless it replaces the input
            var output = layer.Forward(inputs[b], cos, sin, index, 0, null);
            if (!replace) continue;
            inputs[b].Dispose();
            inputs[b] = output.DetachFromDisposeScope();
        }
    }

    /// <summary>The sets of linears sharing an input that are present in the layer (then any other linear alone).</summary>
    static IEnumerable<string[]> InputSets(IEnumerable<string> names, string[][] shared)
    {
        var all = names.ToList();
        foreach (var set in shared)
        {
            var present = set.Where(all.Contains).ToArray();
            if (present.Length > 0) yield return present;
        }
        foreach (var other in all.Where(n => !shared.Any(g => g.Contains(n)))) yield return [other];
    }
}
