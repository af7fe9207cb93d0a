using System.Diagnostics;
using System.Text.Json;
using QuantTune.Tokenization;
using QuantTune.Training;
using QuantTune.Training.Data;
using QuantTune.Training.FineTuning;
using QuantTune.Training.Metrics;

namespace QuantTune.Bench;

/// <summary>
/// One LoRA optimizer step, QuantTune against plain PyTorch, on the same model (tiny-llama, fp32), the same batches
/// (Tiny Shakespeare in the trainer's order: batch 8 × 128 tokens), the same settings (the trainer's defaults for
/// <c>finetune --method lora</c>: r 8, alpha 16, dropout 0.05, every linear layer but lm_head, AdamW without weight
/// decay, lr 1e-2 on a cosine schedule, gradient clipping to 1.0) and the same number of libtorch threads.
/// Ours is <see cref="FineTuner.Run"/> itself: each step's time is the difference of consecutive <c>seconds</c> in its
/// metrics.jsonl, the warm-up steps (the first, and the one memory is measured on) left out. PyTorch's is
/// tools/pytorch-comparison/lora_step.py, run by /usr/bin/python3 on the batches written here. The two alternate,
/// <c>repeats</c> rounds each, so that other work on a shared machine falls on both; the medians are over every
/// timed step of every round. The first step's loss (the adapter is zero before the first update, so it is the base
/// model's loss on that batch) must agree: it shows that both compute the same thing.
/// </summary>
public static class PyTorchComparisonBenchmark
{
    public const string Python = "/usr/bin/python3";
    public const string ResultName = "pytorch-lora-step";
    const double LearningRate = 1e-2;
    const long Seed = 42;

    public static object Run(string model, string data, string scratch, string? script, int steps, int warmup, int batch, int seq, int repeats)
    {
        if (warmup < 2) throw new ArgumentException($"--warmup {warmup}: expected at least 2 (the trainer's first step warms up and its second is the one memory is measured on)");
        int total = warmup + steps;
        var dir = Path.Combine(scratch, $"qt-torchcmp-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            string batchesFile = Path.Combine(dir, "batches.bin");
            WriteBatches(model, data, batchesFile, total, batch, seq);
            var (pythonReady, pythonNote) = script is null ? (false, "tools/pytorch-comparison/lora_step.py not found") : PyTorchAvailable();
            if (!pythonReady) Console.Error.WriteLine($"pytorch-comparison: {pythonNote}; timing QuantTune only");
            string loadBefore = LoadAverage();
            var ours = new List<OurRound>();
            var theirs = new List<JsonElement>();
            for (int r = 0; r < repeats; r++)
            {
                Console.Error.WriteLine($"pytorch-comparison: QuantTune, round {r + 1} of {repeats}...");
                ours.Add(Ours(model, data, Path.Combine(dir, $"run{r}"), total, warmup, batch, seq));
                if (!pythonReady) continue;
                Console.Error.WriteLine($"pytorch-comparison: PyTorch, round {r + 1} of {repeats}...");
                theirs.Add(PyTorch(script!, model, batchesFile, steps, warmup, batch, seq));
            }
            string loadAfter = LoadAverage();

            double ourMedian = Median(ours.SelectMany(o => o.StepsMs));
            double ourLoss = ours[0].Step0Loss;
            object? pytorch = null;
            double? ratio = null, lossDifference = null;
            if (theirs.Count > 0)
            {
                double theirMedian = Median(theirs.SelectMany(t => t.GetProperty("steps_ms").EnumerateArray().Select(x => x.GetDouble())));
                double theirLoss = theirs[0].GetProperty("step0_loss").GetDouble();
                ratio = Math.Round(ourMedian / theirMedian, 3);
                lossDifference = Math.Abs(ourLoss - theirLoss);
                var first = theirs[0];
                pytorch = new
                {
                    median_ms_per_step = theirMedian,
                    torch_version = first.GetProperty("torch_version").GetString(),
                    debian_package = first.GetProperty("debian_package") is { ValueKind: JsonValueKind.String } package ? package.GetString() : null,
                    blas = first.GetProperty("blas").GetString(),
                    attention = first.GetProperty("attention").GetString(),
                    threads = first.GetProperty("threads").GetInt32(),
                    step0_loss = theirLoss,
                    trainable_parameters = first.GetProperty("trainable_parameters").GetInt64(),
                    rounds = theirs,
                };
            }
            return new
            {
                setting = new
                {
                    model = "tiny-llama (Llama, 4 layers, hidden 256, vocabulary 4096), fp32", data = Path.GetFileName(data),
                    batch, seq, warmup_steps = warmup, timed_steps = steps, repeats,
                    method = "LoRA r 8, alpha 16, dropout 0.05, every linear layer but lm_head (the trainer's defaults)",
                    optimizer = "AdamW betas 0.9/0.999, eps 1e-8, weight decay 0, lr 1e-2 cosine, gradient norm clipped to 1.0",
                    loss = "mean cross-entropy over the labelled positions (ours: ChunkedLoss, one chunk here; PyTorch: F.cross_entropy on the whole logits)",
                    threads = TorchSharp.torch.get_num_threads(),
                },
                quanttune = new
                {
                    median_ms_per_step = ourMedian,
                    torchsharp = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(),
                    libtorch = TorchSharp.torch.__version__,
                    step0_loss = ourLoss,
                    trainable_parameters = ours[0].TrainableParameters,
                    rounds = ours,
                },
                pytorch = pytorch ?? (object)new { available = false, reason = pythonNote },
                ratio_quanttune_to_pytorch = ratio,
                step0_loss_difference = lossDifference,
                note = pytorch is null ? "PyTorch was not run; only QuantTune's step is timed"
                    : "the libtorch versions differ (TorchSharp's libtorch against the system PyTorch, typically Debian 12's 1.13.1, "
                      + "with its own BLAS and, before PyTorch 2.0, eager attention instead of scaled_dot_product_attention): "
                      + "the ratio compares the two stacks as shipped, not the same kernels",
                // Other work on a shared machine slows both alike (they alternate); the load average says how busy it was.
                load_average_before = loadBefore, load_average_after = loadAfter,
            };
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The script in tools/, looked for upward from the working directory and from the build output.</summary>
    public static string? FindScript()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (Path.Combine(d.FullName, "tools", "pytorch-comparison", "lora_step.py") is var path && File.Exists(path)) return path;
        return null;
    }

    public sealed record OurRound(double MedianMs, IReadOnlyList<double> StepsMs, IReadOnlyList<double> WarmupStepsMs, double Step0Loss,
        int? MemoryMeasuredStep, long TrainableParameters);

    static FineTuneRequest Request(string model, string data, string output, int steps, int batch, int seq) => new()
    {
        ModelDirectory = model, DataFile = data, OutputDirectory = output, Method = FineTuneMethod.Lora, SequenceLength = seq,
        MaxEvalExamples = batch, // evaluation is not timed; one batch of it keeps the run short
        Training = new TrainingOptions { Steps = steps, BatchSize = batch, LearningRate = LearningRate, EvalEvery = 0, Seed = Seed },
    };

    /// <summary>The batches the trainer will see, in its order, as raw little-endian int64: per step [input ids B×T, labels B×T].</summary>
    static void WriteBatches(string model, string data, string path, int steps, int batch, int seq)
    {
        var tokenizer = HfTokenizer.FromDirectory(model);
        var request = Request(model, data, Path.GetDirectoryName(path)!, steps, batch, seq);
        var examples = FineTuneData.Load(request, tokenizer).Train;
        var batcher = new Batcher(examples, batch, Batcher.PadIdFor(tokenizer), (int)Seed);
        if (batcher.BatchesPerEpoch < steps) throw new ArgumentException($"{data}: {batcher.BatchesPerEpoch} batches of {batch}; the comparison needs {steps} in one epoch");
        using var file = new BinaryWriter(File.Create(path));
        foreach (var b in batcher.Batches(0).Take(steps))
        {
            using var _ = b;
            if (b.InputIds.shape[0] != batch || b.InputIds.shape[1] != seq)
                throw new InvalidOperationException($"a batch of [{string.Join(", ", b.InputIds.shape)}]; expected [{batch}, {seq}]");
            foreach (var v in b.InputIds.data<long>()) file.Write(v);
            foreach (var v in b.Labels.data<long>()) file.Write(v);
        }
    }

    static OurRound Ours(string model, string data, string output, int total, int warmup, int batch, int seq)
    {
        var s = FineTuner.Run(Request(model, data, output, total, batch, seq));
        var history = MetricsLog.Read(Path.Combine(output, "metrics.jsonl"));
        if (history.Count != total) throw new InvalidOperationException($"{output}: {history.Count} steps in metrics.jsonl; expected {total}");
        if (s.Memory.MeasuredStep is int m && m > warmup) throw new InvalidOperationException($"memory was measured on step {m}, after the {warmup} warm-up steps");
        // metrics.jsonl's seconds run from the start of the first step to the end of each; no evaluation runs in between (EvalEvery 0).
        var ms = history.Select((h, i) => Math.Round((h.Seconds - (i == 0 ? 0 : history[i - 1].Seconds)) * 1000, 1)).ToList();
        var timed = ms.Skip(warmup).ToList();
        return new OurRound(Median(timed), timed, ms.Take(warmup).ToList(), history[0].Loss, s.Memory.MeasuredStep, s.TrainableParameters);
    }

    static (bool Ready, string Note) PyTorchAvailable()
    {
        if (!File.Exists(Python)) return (false, $"{Python} not found");
        var (code, output) = RunPython(["-c", "import torch, numpy; print(torch.__version__)"]);
        return code == 0 ? (true, $"PyTorch {output.Trim()}") : (false, $"{Python} cannot import torch and numpy (apt-get install python3-torch python3-numpy)");
    }

    static JsonElement PyTorch(string script, string model, string batches, int steps, int warmup, int batch, int seq)
    {
        var (code, output) = RunPython([script, "--model", model, "--batches", batches, "--batch", $"{batch}", "--seq", $"{seq}",
            "--warmup", $"{warmup}", "--steps", $"{steps}", "--threads", $"{TorchSharp.torch.get_num_threads()}",
            "--lr", LearningRate.ToString(System.Globalization.CultureInfo.InvariantCulture), "--seed", $"{Seed}"]);
        if (code != 0) throw new InvalidOperationException($"{script} exited with {code}");
        return JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement.Clone();
    }

    /// <summary>
    /// Debian's torch takes its BLAS from libblas.so.3, by default the reference BLAS (a 1024×256×704 matmul: 180 ms
    /// against 24 ms with OpenBLAS here). When libopenblas0-pthread is installed its libblas.so.3 is put first for
    /// the script alone (the system's choice is left as it is), on as many threads as libtorch's.
    /// </summary>
    public const string OpenBlasDirectory = "/usr/lib/x86_64-linux-gnu/openblas-pthread";

    static (int ExitCode, string Stdout) RunPython(IEnumerable<string> arguments)
    {
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, UseShellExecute = false };
        if (File.Exists(Path.Combine(OpenBlasDirectory, "libblas.so.3")))
        {
            psi.Environment["LD_LIBRARY_PATH"] = OpenBlasDirectory;
            psi.Environment["OPENBLAS_NUM_THREADS"] = $"{TorchSharp.torch.get_num_threads()}";
        }
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout);
    }

    static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        int n = sorted.Count;
        return Math.Round(n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2, 1);
    }

    static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Trim(); }
        catch (IOException) { return "unknown"; }
    }
}
