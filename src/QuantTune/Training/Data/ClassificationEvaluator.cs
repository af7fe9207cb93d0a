using QuantTune.Models.Transformer;
using static TorchSharp.torch;

namespace QuantTune.Training.Data;

/// <summary>
/// Zero-shot or fine-tuned accuracy on a classification set: for each item, every label word is scored by
/// its log-likelihood after the prompt (the sum over its tokens), and the likeliest is the prediction.
/// Summing, not averaging, so a label word of several tokens pays for each of them.
/// </summary>
public static class ClassificationEvaluator
{
    /// <summary>
    /// Scores with any function: <paramref name="logLikelihood"/>(prompt ids, label word ids) returns
    /// log p(label word | prompt). Ties go to the first label word.
    /// </summary>
    public static ClassificationResult Evaluate(IReadOnlyList<ClassificationItem> items, IReadOnlyList<int[]> labelWordIds,
        Func<int[], int[], double> logLikelihood)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(labelWordIds);
        ArgumentNullException.ThrowIfNull(logLikelihood);
        return Evaluate(items, item => [.. labelWordIds.Select(word => logLikelihood(item.PromptIds, word))]);
    }

    /// <summary>Scores with a causal LM: one forward pass per item, its label words stacked as a batch.</summary>
    public static ClassificationResult Evaluate(CausalLM model, IReadOnlyList<ClassificationItem> items, IReadOnlyList<int[]> labelWordIds,
        CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(labelWordIds);
        return Evaluate(items, item =>
        {
            cancel.ThrowIfCancellationRequested();
            return LabelLogLikelihoods(model, item.PromptIds, labelWordIds);
        });
    }

    /// <summary>
    /// log p(word | prompt) for each word. The candidates prompt + word are padded on the right to one
    /// length; in a causal model padding after a position cannot change that position's logits, so the
    /// padded positions are simply not read.
    /// </summary>
    public static double[] LabelLogLikelihoods(CausalLM model, int[] promptIds, IReadOnlyList<int[]> labelWordIds)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(promptIds);
        ArgumentNullException.ThrowIfNull(labelWordIds);
        if (promptIds.Length == 0)
        {
            throw new ArgumentException("the prompt needs at least one token to predict the label word from", nameof(promptIds));
        }

        int candidates = labelWordIds.Count;
        // Inputs: prompt + word without its last token; the word's tokens are predicted from positions promptLength-1 onwards.
        int length = promptIds.Length + labelWordIds.Max(w => w.Length) - 1;
        var input = new long[candidates * length];
        for (int c = 0; c < candidates; c++)
        {
            for (int i = 0; i < length; i++)
            {
                int j = i - promptIds.Length;
                input[c * length + i] = i < promptIds.Length ? promptIds[i] : j < labelWordIds[c].Length - 1 ? labelWordIds[c][j] : 0;
            }
        }

        // Only the label words' log-probabilities leave the device, not [candidates, length, vocab].
        var rows = new List<long>();
        var positions = new List<long>();
        var tokens = new List<long>();
        for (int c = 0; c < candidates; c++)
        {
            for (int k = 0; k < labelWordIds[c].Length; k++)
            {
                rows.Add(c);
                positions.Add(promptIds.Length - 1 + k);
                tokens.Add(labelWordIds[c][k]);
            }
        }

        float[] picked;
        using (inference_mode())
        using (NewDisposeScope())
        {
            Tensor ids = tensor(input, [candidates, length], ScalarType.Int64, model.Device);
            Tensor logProbs = model.Forward(ids).to_type(ScalarType.Float32).log_softmax(-1);
            picked = logProbs[
                TensorIndex.Tensor(tensor(rows.ToArray(), ScalarType.Int64, model.Device)),
                TensorIndex.Tensor(tensor(positions.ToArray(), ScalarType.Int64, model.Device)),
                TensorIndex.Tensor(tensor(tokens.ToArray(), ScalarType.Int64, model.Device))].cpu().data<float>().ToArray();
        }

        var result = new double[candidates];
        for (int n = 0; n < picked.Length; n++)
        {
            result[rows[n]] += picked[n];
        }

        return result;
    }

    private static ClassificationResult Evaluate(IReadOnlyList<ClassificationItem> items, Func<ClassificationItem, double[]> score)
    {
        var predictions = new int[items.Count];
        int correct = 0;
        for (int n = 0; n < items.Count; n++)
        {
            double[] scores = score(items[n]);
            int best = 0;
            for (int c = 1; c < scores.Length; c++)
            {
                if (scores[c] > scores[best])
                {
                    best = c;
                }
            }

            predictions[n] = best;
            if (best == items[n].LabelIndex)
            {
                correct++;
            }
        }

        return new ClassificationResult(predictions, correct, items.Count);
    }
}
