using QuantTune.Diagnostics;
using QuantTune.Training.Data;
using static TorchSharp.torch;

namespace QuantTune.Training.Alignment;

/// <summary>
/// Preference batches in a seeded order per epoch (the order of a <see cref="Batcher"/> with the same seed), each
/// a <see cref="TrainingBatch"/> whose rows go through the model in one forward:
/// paired: the B chosen sequences, then the B rejected ones ([2B, T], TRL's concatenated batch);
/// unpaired (KTO): the N completions after their prompts, then the N mismatched ones, completion i−1 after prompt i
/// (completion N−1 after prompt 0: TRL cycles the completions by one within the batch) for the KL estimate.
/// <see cref="TrainingBatch.Labels"/> carry the completion tokens only; <see cref="TrainingBatch.SequenceLabels"/> every
/// token after the first (ORPO's NLL); rows are right-padded.
/// </summary>
public sealed class PreferenceBatchSource : IBatchSource
{
    readonly IReadOnlyList<PreferencePair>? _pairs;
    readonly IReadOnlyList<UnpairedCompletion>? _unpaired;
    readonly Batcher _order;
    readonly int _padId;
    readonly PreferenceOptions _cut;

    PreferenceBatchSource(IReadOnlyList<PreferencePair>? pairs, IReadOnlyList<UnpairedCompletion>? unpaired, int count, int batchSize, int padId, int seed, bool shuffle, PreferenceOptions cut)
    {
        if (count == 0) throw new QuantTuneException("no preference example to batch");
        _pairs = pairs;
        _unpaired = unpaired;
        _padId = padId;
        _cut = cut;
        // A batcher over placeholders gives the order and the grouping the SFT trainer would use for this many examples.
        _order = new Batcher([.. Enumerable.Repeat(new TokenizedExample([0], [0]), count)], batchSize, padId, seed, shuffle);
    }

    public static PreferenceBatchSource Paired(IReadOnlyList<PreferencePair> pairs, int batchSize, int padId, int seed, bool shuffle = true) =>
        new(pairs, null, pairs.Count, batchSize, padId, seed, shuffle, new PreferenceOptions());

    /// <param name="cut">How a mismatched prompt + completion is cut (the same limits as the data's).</param>
    public static PreferenceBatchSource Unpaired(IReadOnlyList<UnpairedCompletion> examples, int batchSize, int padId, int seed, PreferenceOptions cut, bool shuffle = true) =>
        new(null, examples, examples.Count, batchSize, padId, seed, shuffle, cut);

    public int BatchesPerEpoch => _order.BatchesPerEpoch;

    public IEnumerable<TrainingBatch> Epoch(int epoch)
    {
        int[] order = _order.Order(epoch);
        int size = _order.BatchSize;
        for (int b = 0; b < BatchesPerEpoch; b++)
            yield return Build(order[(b * size)..Math.Min(order.Length, (b + 1) * size)]);
    }

    TrainingBatch Build(int[] indices)
    {
        var rows = new List<(int[] Prompt, int[] Completion)>();
        Tensor? desirable = null;
        if (_pairs is not null)
        {
            rows.AddRange(indices.Select(i => (_pairs[i].Prompt, _pairs[i].Chosen)));
            rows.AddRange(indices.Select(i => (_pairs[i].Prompt, _pairs[i].Rejected)));
        }
        else
        {
            var u = _unpaired!;
            rows.AddRange(indices.Select(i => (u[i].Prompt, u[i].Completion)));
            for (int k = 0; k < indices.Length; k++)
            {
                var prompt = u[indices[k]].Prompt;
                var other = u[indices[(k + indices.Length - 1) % indices.Length]].Completion;
                rows.Add(_cut.Cut(prompt, other) ?? (prompt, other[..1]));
            }
            desirable = tensor(indices.Select(i => u[i].Desirable).ToArray());
        }
        int length = rows.Max(r => r.Prompt.Length + r.Completion.Length) - 1;
        int n = rows.Count;
        var ids = new long[n * length];
        var labels = new long[n * length];
        var sequence = new long[n * length];
        var mask = new long[n * length];
        for (int r = 0; r < n; r++)
        {
            var (prompt, completion) = rows[r];
            int total = prompt.Length + completion.Length;
            int Token(int t) => t < prompt.Length ? prompt[t] : completion[t - prompt.Length];
            for (int t = 0; t < length; t++)
            {
                int at = r * length + t;
                bool real = t < total - 1;
                ids[at] = real ? Token(t) : _padId;
                mask[at] = real ? 1 : 0;
                sequence[at] = real ? Token(t + 1) : TokenizedExample.Ignore;
                labels[at] = real && t + 1 >= prompt.Length ? Token(t + 1) : TokenizedExample.Ignore;
            }
        }
        long[] shape = [n, length];
        return new TrainingBatch(tensor(ids, shape), tensor(labels, shape))
        {
            AttentionMask = tensor(mask, shape),
            SequenceLabels = tensor(sequence, shape),
            Desirable = desirable,
        };
    }
}
