using System.Text;
using System.Text.Json;
using QuantTune.Diagnostics;
using QuantTune.IO;

namespace QuantTune.Training.Metrics;

/// <summary>One line of metrics.jsonl. <see cref="AuxLoss"/>: a mixture of experts' load-balancing loss (unscaled; <see cref="Loss"/> includes it times router_aux_loss_coef), absent for a dense model.</summary>
public sealed record StepMetrics(int Step, double Loss, double LearningRate, double GradNorm, long Tokens, double Seconds, double? EvalLoss = null, double? AuxLoss = null)
{
    public double? EvalPerplexity => EvalLoss is double l ? Math.Exp(l) : null;

    /// <summary>
    /// A training objective's own metrics under their own names (preference optimisation: TRL's rewards/chosen,
    /// rewards/margins, logps/chosen, ...), written as further fields of the line; null for cross-entropy training.
    /// </summary>
    [System.Text.Json.Serialization.JsonExtensionData]
    public Dictionary<string, JsonElement>? Objective { get; init; }

    /// <summary>An objective's metrics as <see cref="Objective"/> holds them (NaN and infinities as "NaN", "Infinity").</summary>
    public static Dictionary<string, JsonElement>? Extra(IReadOnlyDictionary<string, double>? metrics) =>
        metrics?.ToDictionary(m => m.Key, m => JsonSerializer.SerializeToElement(m.Value, MetricsLog.Json));

    /// <summary>One of <see cref="Objective"/>'s metrics, or null when the line has none of that name.</summary>
    public double? Metric(string name) =>
        Objective is not null && Objective.TryGetValue(name, out var v) ? v.Deserialize<double>(MetricsLog.Json) : null;
}

/// <summary>
/// Appends step metrics as JSON lines (flushed each line, so an interrupted run keeps them).
/// On resume the file is cut back to the checkpoint's step, so it holds one line per step; a last
/// line without its newline (a run killed while writing it) is dropped, any other bad line is an
/// error naming the file and the line. NaN and infinite losses are written as "NaN", "Infinity".
/// </summary>
public sealed class MetricsLog : IDisposable
{
    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
    readonly StreamWriter _writer;
    public List<StepMetrics> History { get; } = new();

    public MetricsLog(string path, int resumeFromStep)
    {
        if (resumeFromStep > 0 && File.Exists(path))
            History.AddRange(Read(path).Where(m => m.Step <= resumeFromStep));
        File.WriteAllLines(path, History.Select(m => JsonSerializer.Serialize(m, Json)));
        _writer = new StreamWriter(path, append: true) { AutoFlush = true };
    }

    /// <summary>The records of a metrics.jsonl.</summary>
    public static List<StepMetrics> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        JsonFile.CheckUtf8(bytes, path);
        var text = Encoding.UTF8.GetString(bytes);
        var lines = text.Split('\n');
        var records = new List<StepMetrics>();
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (line.Trim().Length == 0) continue;
            bool cut = i == lines.Length - 1; // no newline after it
            StepMetrics? m;
            try { m = JsonSerializer.Deserialize<StepMetrics>(line, Json); }
            catch (JsonException e)
            {
                if (cut) break;
                throw new InvalidFormatException(path, $"line {i + 1}", $"is not a metrics record ({e.Message.Split(" Path:")[0]})", e);
            }
            if (m is null)
            {
                if (cut) break;
                throw new InvalidFormatException(path, $"line {i + 1}", "is null; expected an object with step, loss, learning_rate, grad_norm, tokens and seconds");
            }
            records.Add(m);
        }
        return records;
    }

    public void Add(StepMetrics m)
    {
        History.Add(m);
        _writer.WriteLine(JsonSerializer.Serialize(m, Json));
    }

    public void Dispose() => _writer.Dispose();
}
