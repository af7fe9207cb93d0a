namespace QuantTune.Quantization.Gptq;

/// <summary>
/// One linear layer's outcome. Errors are mean squared output errors over the calibration tokens,
/// (1/n)·Σ‖(W − Q)x‖², for the chosen method and for round-to-nearest on the same grid;
/// <see cref="Signal"/> is (1/n)·Σ‖Wx‖², so Error/Signal is the relative output error.
/// <see cref="Seconds"/> is the time to quantize the matrix; <see cref="MeasureSeconds"/> the time
/// to measure the three quantities (three [out, in]·[in, in] products).
/// </summary>
public sealed record GptqLinearReport(string Name, long Rows, long Columns, double Error, double RtnError, double Signal, double Seconds, double MeasureSeconds)
{
    public double RelativeError => Signal > 0 ? Error / Signal : 0;
    public double RelativeRtnError => Signal > 0 ? RtnError / Signal : 0;
}

/// <summary>One decoder layer: its linears and the time spent on it (inputs, Hessians, solving, outputs).</summary>
public sealed record GptqLayerReport(int Layer, int Layers, double Seconds, IReadOnlyList<GptqLinearReport> Linears)
{
    /// <summary>Mean relative output error of the layer's linears.</summary>
    public double RelativeError => Linears.Count == 0 ? 0 : Linears.Average(l => l.RelativeError);
    public double RelativeRtnError => Linears.Count == 0 ? 0 : Linears.Average(l => l.RelativeRtnError);
}

/// <summary>How a model was quantized: per layer reports, the settings and the calibration set.</summary>
public sealed record GptqModelResult(IReadOnlyList<GptqLayerReport> Layers, GptqSettings Settings, GptqMethod Method, int Samples, int SequenceLength, double Seconds);

/// <summary>GPTQ proper, or round-to-nearest on the same grid and groups (the baseline).</summary>
public enum GptqMethod
{
    Gptq,
    RoundToNearest,
}
