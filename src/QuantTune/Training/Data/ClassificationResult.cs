namespace QuantTune.Training.Data;

/// <summary>Outcome of <see cref="ClassificationEvaluator"/>: the predicted label index per item, and accuracy.</summary>
public sealed record ClassificationResult(int[] Predictions, int Correct, int Total)
{
    /// <summary>Correct / Total; 0 for no items.</summary>
    public double Accuracy => Total == 0 ? 0 : (double)Correct / Total;
}
