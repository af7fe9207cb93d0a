using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using QuantTune.Diagnostics;
using QuantTune.Training;
using QuantTune.Training.FineTuning;

namespace QuantTune.Bench;

/// <summary>
/// The cost of measuring memory during fine-tuning: a LoRA run on tiny-llama and Tiny Shakespeare with glibc's
/// large-allocation tracking (64 KiB mmap threshold) on for the whole run ("always": tracking always on, as the
/// trainer had it) against the trainer as it is ("measured-step": memory measured on one step as the bytes malloc holds
/// live, the allocator left alone). glibc's settings cannot be put back as a process found them, so every run is
/// a fresh process; the modes alternate. Time per step is the trainer's: the mean over the steps after the first,
/// the measured one left out. Both modes report M3 and the peak the same way, so their figures should agree.
/// </summary>
public static class MemoryTrackingBenchmark
{
    public const string ChildName = "memory-tracking-run";
    static readonly string[] Modes = ["measured-step", "always"];

    public static object Run(string model, string data, string scratch, int steps, int batch, int seq, int repeats)
    {
        var runs = new List<JsonElement>();
        string loadBefore = LoadAverage();
        for (int r = 0; r < repeats; r++)
        foreach (var mode in Modes)
        {
            Console.Error.WriteLine($"memory-tracking benchmark: {mode}, run {r + 1} of {repeats}...");
            runs.Add(Child(mode, model, data, scratch, steps, batch, seq));
        }
        var byMode = Modes.Select(mode =>
        {
            var ms = runs.Where(x => x.GetProperty("mode").GetString() == mode).Select(x => x.GetProperty("ms_per_step").GetDouble()).ToList();
            return new { mode, mean_ms_per_step = Math.Round(ms.Average(), 1), runs_ms_per_step = ms };
        }).ToList();
        return new
        {
            method = "lora", steps, batch, seq, repeats,
            // Other work on a shared machine slows both modes alike; the load average says how busy it was.
            load_average_before = loadBefore, load_average_after = LoadAverage(),
            modes = new
            {
                always = "glibc mmap threshold 64 KiB for the whole run, set before the model is loaded (tracking always on)",
                measured_step = "allocator untouched; memory measured on one step from mallinfo2 (the trainer now)",
            },
            summary = byMode, runs,
        };
    }

    /// <summary>One run in this process (the child's side).</summary>
    public static object RunOne(string mode, string model, string data, string scratch, int steps, int batch, int seq)
    {
        if (!Modes.Contains(mode)) throw new ArgumentException($"--mode {mode}: expected one of {string.Join(", ", Modes)}");
        var dir = Path.Combine(scratch, $"qt-trackbench-{mode}-{Environment.ProcessId}");
        // "always": on before anything is allocated. Turned on later, once the heap holds freed tensor-sized blocks,
        // it would change little: malloc reuses those blocks and maps only what they cannot serve.
        using var tracking = mode == "always" ? ProcessMemory.TrackLargeAllocations() : null;
        try
        {
            var s = FineTuner.Run(new FineTuneRequest
            {
                ModelDirectory = model, DataFile = data, OutputDirectory = dir, Method = FineTuneMethod.Lora, SequenceLength = seq, MaxEvalExamples = 16,
                Training = new TrainingOptions { Steps = steps, BatchSize = batch, LearningRate = 1e-2, EvalEvery = steps, Seed = 42 },
            });
            return new
            {
                mode, ms_per_step = Math.Round(s.SecondsPerStep * 1000, 1), measured_step = s.Memory.MeasuredStep,
                m3_bytes = s.Memory.M3, step_peak_bytes = s.Memory.StepPeak, memory_method = s.Memory.Method,
            };
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Trim(); }
        catch (IOException) { return "unknown"; }
    }

    static JsonElement Child(string mode, string model, string data, string scratch, int steps, int batch, int seq)
    {
        return ChildProcess.Run(mode, ChildName, "--mode", mode, "--model", model, "--data", data, "--scratch", scratch,
            "--steps", $"{steps}", "--batch", $"{batch}", "--seq", $"{seq}");
    }
}
