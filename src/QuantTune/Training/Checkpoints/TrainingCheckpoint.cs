using System.Text.Json;
using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.IO;
using static TorchSharp.torch;

namespace QuantTune.Training.Checkpoints;

/// <summary>Where a run stands: the step completed and the position in the data, and the dtype the model computed in.</summary>
public sealed record TrainerState(int Step, int Epoch, int BatchInEpoch, long Seed, string Optimizer, double LastLoss, string? DType = null)
{
    /// <summary><see cref="DType"/>; checkpoints written before it was recorded come from fp32 runs (the only kind there was).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string DTypeOrDefault => DType ?? "fp32";
}

/// <summary>
/// A resumable checkpoint: <c>checkpoint/</c> in the run's folder, written atomically (a crash
/// while writing leaves the previous one), holding the trainable parameters, the optimizer
/// state and <c>trainer_state.json</c>.
/// </summary>
public static class TrainingCheckpoint
{
    public const string FolderName = "checkpoint";
    const string ParametersFile = "trainable.safetensors", OptimizerFile = "optimizer.safetensors", StateFile = "trainer_state.json";

    public static string PathIn(string runDirectory) => Path.Combine(runDirectory, FolderName);

    /// <summary>The checkpoint's trainer_state.json (step, data position, seed, dtype).</summary>
    public static string StatePathIn(string runDirectory) => Path.Combine(PathIn(runDirectory), StateFile);

    public static void Save(string runDirectory, TrainerState state, IEnumerable<(string Name, Tensor Value)> trainable, IReadOnlyDictionary<string, Tensor> optimizerState)
    {
        AtomicDirectory.Write(PathIn(runDirectory), dir =>
        {
            SafetensorsWriter.Write(Path.Combine(dir, ParametersFile), trainable.Select(p => new KeyValuePair<string, Tensor>(p.Name, p.Value)).OrderBy(p => p.Key, StringComparer.Ordinal));
            SafetensorsWriter.Write(Path.Combine(dir, OptimizerFile), optimizerState);
            File.WriteAllText(Path.Combine(dir, StateFile), JsonSerializer.Serialize(state, Json));
        });
    }

    public static bool Exists(string runDirectory)
    {
        // A save killed between its two renames leaves the previous checkpoint aside: it is the one to resume from.
        AtomicDirectory.RestoreIfMissing(PathIn(runDirectory));
        return File.Exists(Path.Combine(PathIn(runDirectory), StateFile));
    }

    /// <summary>The checkpoint's <see cref="TrainerState"/>, without touching any tensor.</summary>
    public static TrainerState ReadState(string runDirectory)
    {
        var path = StatePathIn(runDirectory);
        if (!Exists(runDirectory)) throw new QuantTuneException($"{PathIn(runDirectory)}: no checkpoint to resume from (expected {StateFile})");
        TrainerState? state;
        using var doc = JsonFile.ParseObject(File.ReadAllBytes(path), path);
        try { state = doc.RootElement.Deserialize<TrainerState>(Json); }
        catch (JsonException e) { throw new InvalidFormatException(path, e.Path is null or "$" ? null : e.Path.TrimStart('$', '.'), $"is not a trainer state ({e.Message.Split(" Path:")[0]})"); }
        if (state is null) throw new InvalidFormatException(path, null, "is null; expected an object with Step, Epoch, BatchInEpoch, Seed and Optimizer");
        if (state.Step < 0) throw new InvalidFormatException(path, nameof(TrainerState.Step), $"is {state.Step}; expected the number of completed steps (0 or more)");
        if (state.Epoch < 0) throw new InvalidFormatException(path, nameof(TrainerState.Epoch), $"is {state.Epoch}; expected 0 or more");
        if (state.BatchInEpoch < 0) throw new InvalidFormatException(path, nameof(TrainerState.BatchInEpoch), $"is {state.BatchInEpoch}; expected 0 or more");
        if (state.Optimizer is null) throw new InvalidFormatException(path, nameof(TrainerState.Optimizer), "is missing; expected the optimizer's name");
        return state;
    }

    /// <summary>NaN and infinities (a run that has not logged a loss yet) are written as JSON strings, as Python's json does.</summary>
    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>
    /// Restores the trainable parameters in place (copied onto their device) and returns the
    /// optimizer's saved tensors; <see cref="ReadState"/> gives where the run stands.
    /// </summary>
    public static Dictionary<string, Tensor> Load(string runDirectory, IReadOnlyList<(string Name, Tensor Value)> trainable)
    {
        var dir = PathIn(runDirectory);
        if (!Exists(runDirectory)) throw new QuantTuneException($"{dir}: no checkpoint to resume from (expected {StateFile})");
        using (var file = SafetensorsFile.Open(Path.Combine(dir, ParametersFile)))
        using (no_grad())
        {
            var names = trainable.Select(p => p.Name).ToHashSet();
            var missing = names.Where(n => !file.Tensors.ContainsKey(n)).ToList();
            var extra = file.Tensors.Keys.Where(n => !names.Contains(n)).ToList();
            if (missing.Count > 0 || extra.Count > 0)
                throw new InvalidFormatException(Path.Combine(dir, ParametersFile), missing.Concat(extra).First(),
                    "the checkpoint's trainable parameters differ from this run's (was it made with other options?)");
            foreach (var (name, value) in trainable)
            {
                using var saved = file.ToTensor(name);
                if (!saved.shape.SequenceEqual(value.shape))
                    throw new InvalidFormatException(Path.Combine(dir, ParametersFile), name, $"has shape [{string.Join(", ", saved.shape)}]; this run's is [{string.Join(", ", value.shape)}]");
                if (saved.dtype != value.dtype)
                    throw new InvalidFormatException(Path.Combine(dir, ParametersFile), name, $"is {saved.dtype}; this run's is {value.dtype}");
                value.copy_(saved);
            }
        }
        using var opt = SafetensorsFile.Open(Path.Combine(dir, OptimizerFile));
        return opt.Tensors.Keys.ToDictionary(n => n, n => opt.ToTensor(n));
    }
}
