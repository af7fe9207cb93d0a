using System.Diagnostics;
using QuantTune.Diagnostics;
using QuantTune.Models.Transformer;
using static TorchSharp.torch;

namespace QuantTune.Evaluation;

/// <summary>
/// Perplexity of a causal LM over a token sequence with a sliding window. Each window holds up
/// to <c>window</c> input tokens and predicts the token after each of them; windows start
/// <c>stride</c> tokens apart, and a window scores only the targets no earlier window scored
/// (with stride = window the windows do not overlap: the protocol of the reference fixtures).
/// </summary>
public static class PerplexityEvaluator
{
    public static PerplexityResult Evaluate(CausalLM model, IReadOnlyList<int> ids, int window = 256, int stride = 0,
        int batchSize = 4, IProgress<(long Done, long Total)>? progress = null, CancellationToken cancel = default) =>
        Evaluate(x => model.Forward(x), model.Device, ids, window, stride, batchSize, progress, cancel);

    /// <summary>As above for any model given as token ids [B, T] → logits [B, T, V] (a QST model, an adapted model).</summary>
    public static PerplexityResult Evaluate(Func<Tensor, Tensor> logitsOf, Device device, IReadOnlyList<int> ids, int window = 256, int stride = 0,
        int batchSize = 4, IProgress<(long Done, long Total)>? progress = null, CancellationToken cancel = default)
    {
        if (stride == 0) stride = window;
        if (window < 1) throw new InvalidSettingException("PerplexityEvaluator.Evaluate(window)", window, "expected a positive number of tokens");
        if (stride < 1 || stride > window) throw new InvalidSettingException("PerplexityEvaluator.Evaluate(stride)", stride, $"expected 1 to the window ({window})");
        if (ids.Count < 2) throw new QuantTuneException($"the text has {ids.Count} token(s); perplexity needs at least 2");

        var windows = Plan(ids.Count, window, stride);
        long total = windows.Sum(w => w.Length - w.Skip);
        var sw = Stopwatch.StartNew();
        double nll = 0;
        long done = 0;
        using var _ = no_grad();
        foreach (var batch in windows.Chunk(batchSize).SelectMany(SplitByLength))
        {
            cancel.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            int length = batch[0].Length;
            var input = new long[batch.Length * length];
            var target = new long[batch.Length * length];
            for (int b = 0; b < batch.Length; b++)
                for (int i = 0; i < length; i++)
                {
                    input[b * length + i] = ids[batch[b].Start + i];
                    // Targets already scored by an earlier window are ignored (-100).
                    target[b * length + i] = i < batch[b].Skip ? -100 : ids[batch[b].Start + i + 1];
                }
            var x = tensor(input, [batch.Length, length], ScalarType.Int64, device);
            var y = tensor(target, [batch.Length * length], ScalarType.Int64, device);
            var raw = logitsOf(x);
            var logits = raw.to_type(ScalarType.Float32).reshape(-1, raw.shape[^1]);
            nll += nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.Sum).item<float>();
            done += batch.Sum(w => w.Length - w.Skip);
            progress?.Report((done, total));
        }
        return new PerplexityResult(nll / total, total, windows.Count, sw.Elapsed, window, stride);
    }

    /// <summary>A window of <see cref="Length"/> inputs from <see cref="Start"/>, whose first <see cref="Skip"/> targets were scored before.</summary>
    public readonly record struct WindowSpan(int Start, int Length, int Skip);

    public static List<WindowSpan> Plan(int tokenCount, int window, int stride)
    {
        var result = new List<WindowSpan>();
        int scoredUpTo = 0; // targets ids[1..scoredUpTo] are scored
        for (int start = 0; start < tokenCount - 1; start += stride)
        {
            int length = Math.Min(window, tokenCount - 1 - start);
            int end = start + length; // last target index
            int skip = Math.Max(0, scoredUpTo - start);
            if (skip >= length) continue;
            result.Add(new WindowSpan(start, length, skip));
            scoredUpTo = end;
            if (end >= tokenCount - 1) break;
        }
        return result;
    }

    static IEnumerable<WindowSpan[]> SplitByLength(WindowSpan[] chunk) =>
        chunk.GroupBy(w => w.Length).Select(g => g.ToArray());
}
