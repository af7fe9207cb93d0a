using System.Text.Json;

namespace QuantTune.Training.Metrics;

/// <summary>One line of metrics.jsonl.</summary>
public sealed record StepMetrics(int Step, double Loss, double LearningRate, double GradNorm, long Tokens, double Seconds, double? EvalLoss = null)
{
    public double? EvalPerplexity => EvalLoss is double l ? Math.Exp(l) : null;
}

/// <summary>
/// Appends step metrics as JSON lines (flushed each line, so an interrupted run keeps them).
/// On resume the file is cut back to the checkpoint's step, so it holds one line per step.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };
    readonly StreamWriter _writer;
    public List<StepMetrics> History { get; } = new();

    public MetricsLog(string path, int resumeFromStep)
    {
        if (resumeFromStep > 0 && File.Exists(path))
            History.AddRange(File.ReadLines(path).Select(l => JsonSerializer.Deserialize<StepMetrics>(l, Json)!).Where(m => m.Step <= resumeFromStep));
        File.WriteAllLines(path, History.Select(m => JsonSerializer.Serialize(m, Json)));
        _writer = new StreamWriter(path, append: true) { AutoFlush = true };
    }

    public void Add(StepMetrics m)
    {
        History.Add(m);
        _writer.WriteLine(JsonSerializer.Serialize(m, Json));
    }

    public void Dispose() => _writer.Dispose();
}
