using System.Diagnostics;
using QuantTune.Generation;
using QuantTune.Models.Loading;
using QuantTune.Models.Transformer;
using QuantTune.Peft.Lora;
using QuantTune.Quantization.FourBit;
using QuantTune.Quantization.Models;
using QuantTune.SideTuning;
using QuantTune.Training;
using QuantTune.Training.FineTuning;
using QuantTune.Training.Optimizers;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Bench;

/// <summary>
/// CUDA correctness on the device machine, where the test suite cannot run (it has no .NET
/// SDK): the same computation on the CPU and on the GPU, compared. Each check records its
/// largest difference against a tolerance, or the exception it threw, so that one failure does
/// not hide the others. Without CUDA it compares the CPU with itself (which exercises the code
/// only). Covered: tiny-llama's logits in fp32 and bf16, greedy decoding, NF4+DQ codes, QLoRA
/// forward and backward, QST forward and backward, one step of each optimizer, and short
/// `finetune` runs (QST and QLoRA in bf16, LoRA in fp32).
/// Without CUDA nothing is compared: <see cref="NoCuda"/> says so, and the benchmark exits
/// non-zero where CUDA was required (on the device machine, so a broken CUDA load cannot pass as a
/// CPU-against-CPU success). A rehearsal on a machine without CUDA compares the CPU with itself,
/// which exercises the code only, and is labelled as such.
/// </summary>
public static class CudaCheck
{
    public sealed record Check(string Name, double? MaxAbsDiff, double Tolerance, bool Passed, double Seconds, string? Error);

    /// <summary>What ran: Device is "cuda", "cpu-rehearsal" (no CUDA; the CPU against itself) or "none".</summary>
    public sealed record Result(string Device, string Status, int Passed, int Failed, IReadOnlyList<Check> Checks);

    public const string NoCudaStatus = "no CUDA device";

    /// <summary>The result where CUDA is not available and no rehearsal was asked for: no checks ran.</summary>
    public static Result NoCuda() => new("none", NoCudaStatus, 0, 0, []);

    /// <summary>
    /// Compares the CPU with CUDA; with <paramref name="rehearsal"/> (only where CUDA is absent)
    /// the CPU with itself.
    /// </summary>
    public static Result Run(string modelDir, bool rehearsal = false)
    {
        if (!rehearsal && !cuda.is_available()) return NoCuda();
        var gpu = rehearsal ? CPU : CUDA;
        var checks = new List<Check>();
        void Add(string name, double tolerance, Func<double> measure)
        {
            var sw = Stopwatch.StartNew();
            try
            {
                double diff = measure();
                checks.Add(new Check(name, diff, tolerance, diff <= tolerance, Math.Round(sw.Elapsed.TotalSeconds, 2), null));
            }
            catch (Exception e)
            {
                checks.Add(new Check(name, null, tolerance, false, Math.Round(sw.Elapsed.TotalSeconds, 2), $"{e.GetType().Name}: {e.Message}"));
            }
        }

        manual_seed(0);
        using var ids = randint(0, 2000, [2, 64], ScalarType.Int64);

        Add("logits fp32", 1e-3, () => OnBoth(modelDir, ScalarType.Float32, gpu, m => m.Forward(ids.to(m.Device))));
        Add("logits bf16 (gpu) vs fp32 (cpu)", 0.25, () =>
        {
            using var cpuModel = PretrainedModel.Load(modelDir);
            using var gpuModel = PretrainedModel.Load(modelDir, ScalarType.BFloat16, gpu);
            using var _ = no_grad();
            return MaxDiff(cpuModel.Model.Forward(ids), gpuModel.Model.Forward(ids.to(gpu)));
        });
        Add("greedy tokens (count of differing)", 0, () =>
        {
            using var cpuModel = PretrainedModel.Load(modelDir);
            using var gpuModel = PretrainedModel.Load(modelDir, device: gpu);
            var prompt = cpuModel.Tokenizer.Encode("The history of the", addSpecialTokens: true);
            var options = new SamplingOptions { MaxNewTokens = 24, Temperature = 0 };
            var a = TextGenerator.Generate(cpuModel.Model, prompt, options).ToList();
            var b = TextGenerator.Generate(gpuModel.Model, prompt, options).ToList();
            return a.Count != b.Count ? Math.Max(a.Count, b.Count) : a.Zip(b).Count(p => p.First != p.Second);
        });
        // Quantization reduces (absmax, the constants' mean) in another order on the GPU, so a code
        // at a rounding boundary may flip: a fraction of codes, and one NF4 step of value, are allowed.
        manual_seed(1);
        using var w = randn(1024, 704) * 0.02f;
        var quantizer = new FourBitQuantizer(FourBitType.NF4, 64, doubleQuant: true);
        Add("nf4+dq codes, fraction differing", 1e-3, () =>
        {
            using var onCpu = quantizer.Quantize(w, ScalarType.BFloat16);
            using var wGpu = w.to(gpu);
            using var onGpu = quantizer.Quantize(wGpu, ScalarType.BFloat16);
            using var scope = NewDisposeScope();
            long differing = onCpu.Tensors[""].ne(onGpu.Tensors[""].cpu()).sum().item<long>() + onCpu.Tensors["absmax"].ne(onGpu.Tensors["absmax"].cpu()).sum().item<long>();
            return differing / (double)(onCpu.Tensors[""].numel() + onCpu.Tensors["absmax"].numel());
        });
        Add("nf4+dq dequantized, max |diff|", 5e-3, () =>
        {
            using var onCpu = quantizer.Quantize(w, ScalarType.BFloat16);
            using var wGpu = w.to(gpu);
            using var onGpu = quantizer.Quantize(wGpu, ScalarType.BFloat16);
            using var dequantCpu = onCpu.Dequantize();
            using var dequantGpu = onGpu.Dequantize();
            return MaxDiff(dequantCpu, dequantGpu);
        });
        Add("qlora: loss and lora grads", 1e-3, () => TrainingStep(modelDir, gpu, qst: false, "adamw"));
        Add("qst: loss and side grads", 1e-3, () => TrainingStep(modelDir, gpu, qst: true, "adamw"));
        Add("qst: paged adamw step", 1e-4, () => TrainingStep(modelDir, gpu, qst: true, "paged-adamw"));
        Add("qst: 8-bit adamw step", 1e-3, () => TrainingStep(modelDir, gpu, qst: true, "adamw8bit"));

        foreach (var (method, dtype) in new[] { (FineTuneMethod.Qst, ScalarType.BFloat16), (FineTuneMethod.Qlora, ScalarType.BFloat16), (FineTuneMethod.Lora, ScalarType.Float32) })
            Add($"finetune {method.ToString().ToLowerInvariant()} {(dtype == ScalarType.BFloat16 ? "bf16" : "fp32")}: held-out perplexity after 4 steps, relative", 0.02,
                () => FineTuneOnBoth(modelDir, method, dtype, gpu));

        return new Result(rehearsal ? "cpu-rehearsal" : "cuda", rehearsal ? NoCudaStatus + ": rehearsal, the CPU compared with itself" : "compared with the CPU",
            checks.Count(c => c.Passed), checks.Count(c => !c.Passed), checks);
    }

    /// <summary>
    /// A short `finetune` run (the trainer with checkpoints, evaluation and saving) on each device:
    /// the relative difference of the held-out perplexity after it.
    /// </summary>
    static double FineTuneOnBoth(string modelDir, FineTuneMethod method, ScalarType dtype, Device gpu)
    {
        var perplexities = new List<double>();
        foreach (var device in new[] { CPU, gpu })
        {
            var dir = Directory.CreateTempSubdirectory("qt-cuda-check-").FullName;
            try
            {
                var summary = FineTuner.Run(new FineTuneRequest
                {
                    ModelDirectory = modelDir,
                    DataFile = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(modelDir))!, "data", "tiny-shakespeare.txt"),
                    OutputDirectory = dir,
                    Method = method,
                    DType = dtype,
                    Device = device,
                    SequenceLength = 64,
                    MaxEvalExamples = 16,
                    Training = new TrainingOptions { Steps = 4, BatchSize = 4, LearningRate = 1e-2, CheckpointEvery = 2 },
                });
                perplexities.Add(summary.EvalPerplexityAfter);
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        return Math.Abs(perplexities[1] - perplexities[0]) / perplexities[0];
    }

    /// <summary>Largest |a − b| over two tensors, compared in fp32 on the CPU.</summary>
    static double MaxDiff(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return (a.detach().to_type(ScalarType.Float32).cpu() - b.detach().to_type(ScalarType.Float32).cpu()).abs().max().item<float>();
    }

    static double OnBoth(string modelDir, ScalarType dtype, Device gpu, Func<CausalLM, Tensor> run)
    {
        using var cpuModel = PretrainedModel.Load(modelDir, dtype);
        using var gpuModel = PretrainedModel.Load(modelDir, dtype, gpu);
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        return MaxDiff(run(cpuModel.Model), run(gpuModel.Model));
    }

    /// <summary>
    /// One training step on each device from the same weights (NF4+DQ backbone; LoRA r=8 with
    /// the CPU's initial adapter copied to the GPU, or the QST side network): the largest
    /// difference over the loss, every trainable gradient and, after the optimizer step, every
    /// trainable parameter.
    /// </summary>
    static double TrainingStep(string modelDir, Device gpu, bool qst, string optimizerName)
    {
        var cpu = Prepare(modelDir, CPU, qst);
        var dev = Prepare(modelDir, gpu, qst);
        try
        {
            if (!qst)
                using (no_grad())
                    foreach (var ((_, a), (_, b)) in cpu.Parameters.Zip(dev.Parameters)) b.copy_(a);
            manual_seed(2);
            using var ids = randint(0, 2000, [2, 64], ScalarType.Int64);
            double worst = 0;
            var grads = new List<(Tensor, Tensor)>();
            var losses = new List<Tensor>();
            foreach (var run in new[] { cpu, dev })
            {
                var x = ids.to(run.Device);
                using var logits = run.Forward(x);
                var loss = nn.functional.cross_entropy(logits[.., ..^1].reshape(-1, logits.shape[^1]).to_type(ScalarType.Float32), x[.., 1..].reshape(-1));
                loss.backward();
                losses.Add(loss);
            }
            worst = Math.Max(worst, MaxDiff(losses[0], losses[1]));
            foreach (var ((_, a), (_, b)) in cpu.Parameters.Zip(dev.Parameters)) worst = Math.Max(worst, MaxDiff(a.grad!, b.grad!));
            using var optCpu = CreateOptimizer(optimizerName, cpu.Parameters);
            using var optDev = CreateOptimizer(optimizerName, dev.Parameters);
            optCpu.Step();
            optDev.Step();
            foreach (var ((_, a), (_, b)) in cpu.Parameters.Zip(dev.Parameters)) worst = Math.Max(worst, MaxDiff(a, b));
            foreach (var l in losses) l.Dispose();
            return worst;
        }
        finally
        {
            cpu.Dispose();
            dev.Dispose();
        }
    }

    static ITrainingOptimizer CreateOptimizer(string name, IReadOnlyList<(string, Parameter)> parameters) => name switch
    {
        "paged-adamw" => new PagedAdamWOptimizer(parameters, new AdamWOptions(1e-3)),
        "adamw8bit" => new AdamW8bitOptimizer(parameters, new AdamWOptions(1e-3)),
        _ => new AdamWOptimizer(parameters, new AdamWOptions(1e-3)),
    };

    sealed record Prepared(PretrainedModel Model, Device Device, Func<Tensor, Tensor> Forward, List<(string, Parameter)> Parameters, IDisposable? Extra) : IDisposable
    {
        public void Dispose() { Extra?.Dispose(); Model.Dispose(); }
    }

    static Prepared Prepare(string modelDir, Device device, bool qst)
    {
        var pm = PretrainedModel.Load(modelDir, device: device);
        ModelQuantizer.QuantizeNf4DoubleQuant(pm.Model);
        foreach (var p in pm.Model.parameters()) p.requires_grad = false;
        if (qst)
        {
            var model = new QstModel(pm.Model, new QstConfig(), seed: 0);
            var trainable = model.side.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter)).ToList();
            return new Prepared(pm, device, model.Forward, trainable, model.side);
        }
        LoraModel.Apply(pm.Model, new LoraConfig { R = 8, LoraAlpha = 16 }, seed: 0);
        var lora = pm.Model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter)).ToList();
        return new Prepared(pm, device, ids => pm.Model.Forward(ids), lora, null);
    }
}
