using System.Diagnostics;
using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Transformer;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using QuantTune.Quantization.Models;
using QuantTune.SideTuning;
using QuantTune.Training;
using QuantTune.Training.Memory;
using QuantTune.Training.Optimizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Bench;

/// <summary>
/// The QST paper's comparison at real width (issue 5): a Llama-2-7B-shaped model with random
/// weights (optionally fewer layers), a batch of random token ids, AdamW, and one training
/// method per process so that every peak is its own: QST (NF4+DQ backbone, side network r=16),
/// QLoRA (NF4+DQ base, LoRA r=64 on every linear layer), and LoRA r=64 over a bf16 base (what
/// the Python stack was measured with). Reports time per step (after warm-up) and peak memory:
/// GPU memory in use from NVML on CUDA, peak RSS on the CPU.
/// </summary>
public static class QstScaleBenchmark
{
    public static readonly string[] Methods = ["qst", "qst-bf16", "qlora", "qlora-gc", "lora-bf16", "lora-bf16-gc"];

    /// <summary>The Python stack on an H100 at Llama-2-7B, batch 4 x 512 (issue 5): PEFT LoRA r=64 on all linear layers, bf16 base.</summary>
    public static readonly object PythonReference = new
    {
        lora_bf16 = new { ms_per_step = 282, peak_gib = 32.1 },
        lora_bf16_gradient_checkpointing = new { ms_per_step = 445, peak_gib = 15.8 },
        bf16_forward_only_ms = 64,
    };

    /// <param name="loss">"chunked": the trainer's loss (<see cref="ChunkedLoss"/>: the LM head and the fp32 cross-entropy one chunk of
    /// positions at a time); "whole": the [B, T, V] logits at once, as the trainer computed it before</param>
    public static object Run(string configPath, string method, int layers, int batch, int seq, int steps, int warmup, string deviceName, string loss = "chunked")
    {
        if (loss is not ("chunked" or "whole")) throw new ArgumentException($"--loss {loss}: expected chunked or whole");
        if (!Methods.Contains(method)) throw new ArgumentException($"--method {method}: expected one of {string.Join(", ", Methods)}");
        var device = deviceName == "cuda" ? CUDA : CPU;
        var config = ModelConfig.Load(configPath);
        if (layers > 0) config = config with { NumLayers = layers };
        using var tracking = ProcessMemory.TrackLargeAllocations();
        long? gpuBefore = device.type == DeviceType.CUDA ? GpuMemory.UsedBytes(Math.Max(device.index, 0)) : null;

        manual_seed(0);
        var build = Stopwatch.StartNew();
        var model = new CausalLM(config, ScalarType.BFloat16, device);
        using (no_grad())
            foreach (var p in model.parameters())
                if (p.dim() == 2) p.normal_(0, 0.02); else p.fill_(1.0);
        bool quantized = method.StartsWith("qst") || method.StartsWith("qlora");
        if (quantized)
            ModelQuantizer.QuantizeNf4DoubleQuant(model);
        foreach (var p in model.parameters()) p.requires_grad = false;
        model.model.GradientCheckpointing = method.EndsWith("-gc");

        LanguageModelForward forward;
        nn.Module trained;
        var qstConfig = new QstConfig { SideDType = method == "qst-bf16" ? ScalarType.BFloat16 : ScalarType.Float32 };
        if (method.StartsWith("qst"))
        {
            var qst = new QstModel(model, qstConfig, seed: 0);
            forward = new LanguageModelForward(qst.Hidden, qst.Head);
            trained = qst.side;
        }
        else
        {
            LoraModel.Apply(model, new LoraConfig { R = 64, LoraAlpha = 16, TargetModules = PeftTargets.AllLinearLayers }, seed: 0);
            forward = new LanguageModelForward(ids => model.model.Forward(ids), model.Head);
            trained = model;
        }
        var parameters = trained.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter)).ToList();
        using var optimizer = new AdamWOptimizer(parameters, new AdamWOptions(1e-4));
        double buildSeconds = build.Elapsed.TotalSeconds;

        ProcessMemory.Trim();
        ProcessMemory.ResetPeak();
        long? gpuPeak = null;
        var times = new List<double>();
        for (int step = 0; step < warmup + steps; step++)
        {
            var sw = Stopwatch.StartNew();
            using (var scope = NewDisposeScope())
            {
                var ids = randint(0, config.VocabSize, [batch, seq], ScalarType.Int64, device);
                var labels = ids[.., 1..];
                if (loss == "whole")
                {
                    var logits = forward.Logits(ids);
                    nn.functional.cross_entropy(logits[.., ..^1].reshape(-1, logits.shape[^1]).to_type(ScalarType.Float32), labels.reshape(-1)).backward();
                }
                else ChunkedLoss.Backward(forward.Hidden(ids)[.., ..^1], forward.Head, labels, scale: 1.0);
                optimizer.Step();
                optimizer.ZeroGrad();
                if (device.type == DeviceType.CUDA) cuda.synchronize();
            }
            if (step >= warmup) times.Add(sw.Elapsed.TotalMilliseconds);
            if (GpuMemory.UsedBytes(Math.Max(device.index, 0)) is long used) gpuPeak = Math.Max(gpuPeak ?? 0, used);
            Console.Error.WriteLine($"  {method} step {step + 1}/{warmup + steps}: {sw.Elapsed.TotalMilliseconds:F0} ms");
        }
        times.Sort();
        // The memory model's prediction for the same shape (gradient checkpointing is not modelled).
        string? planned = method switch { "qst" or "qst-bf16" => "qst", "qlora" => "qlora", "lora-bf16" => "lora", _ => null };
        var plan = planned is null ? null : MemoryPlanner.Plan(new PlanRequest(config, planned, batch, seq)
        {
            ElementBytes = 2, LoraRank = 64, AttentionProbabilitiesKept = device.type == DeviceType.CPU, Qst = qstConfig,
        });
        const double GiB = 1L << 30;
        return new
        {
            method, loss, device = deviceName, layers = config.NumLayers, hidden = config.HiddenSize, intermediate = config.IntermediateSize,
            heads = config.NumHeads, vocab = config.VocabSize, batch, seq, steps, warmup,
            trainable_parameters = parameters.Sum(p => p.parameter.numel()),
            build_seconds = Math.Round(buildSeconds, 1),
            ms_per_step_median = Math.Round(times[times.Count / 2], 1),
            ms_per_step_min = Math.Round(times[0], 1),
            optimizer_state_bytes = optimizer.StateBytes,
            gpu_used_before_bytes = gpuBefore,
            gpu_peak_used_bytes = gpuPeak,
            gpu_peak_used_gib = gpuPeak is long g ? Math.Round(g / GiB, 2) : (double?)null,
            gpu_peak_above_idle_gib = gpuPeak is long peakUsed && gpuBefore is long idle ? Math.Round((peakUsed - idle) / GiB, 2) : (double?)null,
            predicted = plan is null ? null : new
            {
                m1_gib = Math.Round(plan.M1 / GiB, 2), m2_gib = Math.Round(plan.M2 / GiB, 2),
                m3_gib = Math.Round(plan.M3 / GiB, 2), peak_gib = Math.Round(plan.Peak / GiB, 2),
            },
            cpu_peak_rss_bytes = ProcessMemory.Peak,
            python_reference_h100_7b_4x512 = PythonReference,
        };
    }
}
