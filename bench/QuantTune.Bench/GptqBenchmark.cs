using QuantTune.Models.Config;
using QuantTune.Models.Loading;
using QuantTune.Models.Transformer;
using QuantTune.Quantization.Gptq;
using static TorchSharp.torch;

namespace QuantTune.Bench;

/// <summary>
/// GPTQ time per decoder layer (capturing Hessians, solving every linear, recomputing the
/// layer's outputs): on tiny-llama with real calibration text, and on one randomly initialised
/// layer shaped like LLaMA-7B's (hidden 4096, intermediate 11008, 32 heads) with a few random
/// token samples — the solver's cost at real size. Per layer: the total, the solving time and the
/// time spent measuring GPTQ's and RTN's output errors for the report.
/// </summary>
public static class GptqBenchmark
{
    public static object Run(string model, string calibrationText, int samples, int seq, int layerSamples, int layerSeq)
    {
        var settings = new GptqSettings(4, 128);
        object tiny;
        using (var pm = PretrainedModel.Load(model))
        {
            var windows = CalibrationWindows.Sample(pm.Tokenizer.Encode(File.ReadAllText(calibrationText)), samples, seq);
            Console.Error.WriteLine($"tiny-llama: GPTQ {settings.Name} on {samples} × {seq} tokens...");
            var r = GptqModelQuantizer.Quantize(pm.Model, windows, settings);
            tiny = Describe("tiny-llama", r);
        }

        var config = new ModelConfig
        {
            ModelType = "llama", VocabSize = 256, HiddenSize = 4096, IntermediateSize = 11008, NumLayers = 1,
            NumHeads = 32, NumKvHeads = 32, HeadDim = 128, Rope = new RopeConfig(10000), MaxPositionEmbeddings = 4096,
        };
        object large;
        using (var lm = new CausalLM(config, ScalarType.Float32, CPU))
        {
            WeightInit.Initialize(lm, seed: 0);
            var random = new Random(0);
            var windows = Enumerable.Range(0, layerSamples).Select(_ => Enumerable.Range(0, layerSeq).Select(_ => (long)random.Next(config.VocabSize)).ToArray()).ToList();
            Console.Error.WriteLine($"LLaMA-7B-shaped layer: GPTQ {settings.Name} on {layerSamples} × {layerSeq} random tokens...");
            var r = GptqModelQuantizer.Quantize(lm, windows, settings);
            large = Describe("one LLaMA-7B-shaped layer (4096 hidden, 11008 intermediate), random weights and tokens", r);
        }
        return new { settings = settings.Name, torch_threads = get_num_threads(), tiny_llama = tiny, llama7b_layer = large };
    }

    static object Describe(string what, GptqModelResult r) => new
    {
        model = what,
        samples = r.Samples,
        seq = r.SequenceLength,
        total_s = Math.Round(r.Seconds, 3),
        layers = r.Layers.Select(l => new
        {
            layer = l.Layer,
            seconds = Math.Round(l.Seconds, 3),
            relative_output_error = l.RelativeError,
            rtn_relative_output_error = l.RelativeRtnError,
            solve_s = Math.Round(l.Linears.Sum(x => x.Seconds), 3),
            measure_s = Math.Round(l.Linears.Sum(x => x.MeasureSeconds), 3),
            linears = l.Linears.Select(x => new { name = x.Name, shape = new[] { x.Rows, x.Columns }, solve_s = Math.Round(x.Seconds, 3), measure_s = Math.Round(x.MeasureSeconds, 3) }),
        }),
    };
}
