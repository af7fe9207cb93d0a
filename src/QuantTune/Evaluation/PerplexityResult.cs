namespace QuantTune.Evaluation;

/// <summary>Mean negative log-likelihood (nats per token) over the predicted tokens, and its exponential.</summary>
public sealed record PerplexityResult(double MeanNll, long PredictedTokens, int Windows, TimeSpan Elapsed, int Window, int Stride)
{
    public double Perplexity => Math.Exp(MeanNll);
    public double TokensPerSecond => PredictedTokens / Math.Max(Elapsed.TotalSeconds, 1e-9);
}
