using QuantTune.Diagnostics;
using QuantTune.Tokenization;
using static TorchSharp.torch;

namespace QuantTune.Training.Data;

/// <summary>
/// Cuts examples into batches, in an order shuffled once per epoch. The order depends only on the seed
/// and the epoch number, so a run resumed at epoch e, batch k sees the batches the first run would have
/// (<c>Batches(e, skip: k)</c>). Rows are padded on the right to the longest example of their batch.
/// </summary>
public sealed class Batcher
{
    private readonly IReadOnlyList<TokenizedExample> _examples;

    /// <param name="padId">The id put in padding; see <see cref="PadIdFor"/>. Its labels are ignored, so any id works.</param>
    /// <param name="shuffle">False keeps file order (evaluation).</param>
    /// <param name="dropLast">Leave out a last batch smaller than <paramref name="batchSize"/>.</param>
    public Batcher(IReadOnlyList<TokenizedExample> examples, int batchSize, int padId, int seed, bool shuffle = true, bool dropLast = false)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (batchSize < 1)
        {
            throw new QuantTuneException($"batch size {batchSize}: expected a positive number of examples");
        }

        int empty = examples.ToList().FindIndex(e => e.Length == 0 || e.Labels.Length != e.Length);
        if (empty >= 0)
        {
            throw new ArgumentException($"example {empty} is empty or has a label count different from its input count", nameof(examples));
        }

        _examples = examples;
        BatchSize = batchSize;
        PadId = padId;
        Seed = seed;
        Shuffle = shuffle;
        DropLast = dropLast;
    }

    public int BatchSize { get; }

    public int PadId { get; }

    public int Seed { get; }

    public bool Shuffle { get; }

    public bool DropLast { get; }

    public int BatchesPerEpoch => DropLast ? _examples.Count / BatchSize : (_examples.Count + BatchSize - 1) / BatchSize;

    /// <summary>The tokenizer's pad id, else its EOS, else 0. Padding carries no loss, so the choice only has to be a valid id.</summary>
    public static int PadIdFor(HfTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return tokenizer.PadId ?? tokenizer.EosId ?? 0;
    }

    /// <summary>The example indices in the order epoch <paramref name="epoch"/> visits them.</summary>
    public int[] Order(int epoch)
    {
        int[] order = [.. Enumerable.Range(0, _examples.Count)];
        if (Shuffle)
        {
            // System.Random with a seed is the documented, version-stable generator; one per epoch so an
            // epoch's order does not depend on how many epochs ran before it in this process.
            var random = new Random(EpochSeed(Seed, epoch));
            for (int i = order.Length - 1; i > 0; i--)
            {
                int j = random.Next(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
        }

        return order;
    }

    /// <summary>
    /// The batches of one epoch, built lazily on <paramref name="device"/> (CPU when null); the first
    /// <paramref name="skip"/> are not built at all. The caller disposes each batch.
    /// </summary>
    public IEnumerable<Batch> Batches(int epoch, int skip = 0, Device? device = null)
    {
        if (skip < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(skip), skip, "expected zero or more batches to skip");
        }

        int[] order = Order(epoch);
        for (int b = skip; b < BatchesPerEpoch; b++)
        {
            int[] indices = order[(b * BatchSize)..Math.Min(order.Length, (b + 1) * BatchSize)];
            yield return Build(indices, device);
        }
    }

    private Batch Build(int[] indices, Device? device)
    {
        int length = indices.Max(i => _examples[i].Length);
        var inputs = new long[indices.Length * length];
        var labels = new long[indices.Length * length];
        var mask = new long[indices.Length * length];
        int tokens = 0;
        for (int row = 0; row < indices.Length; row++)
        {
            TokenizedExample example = _examples[indices[row]];
            for (int t = 0; t < length; t++)
            {
                bool real = t < example.Length;
                inputs[row * length + t] = real ? example.InputIds[t] : PadId;
                labels[row * length + t] = real ? example.Labels[t] : TokenizedExample.Ignore;
                mask[row * length + t] = real ? 1 : 0;
                if (real && example.Labels[t] != TokenizedExample.Ignore)
                {
                    tokens++;
                }
            }
        }

        long[] shape = [indices.Length, length];
        return new Batch(tensor(inputs, shape, ScalarType.Int64, device), tensor(labels, shape, ScalarType.Int64, device), tokens, indices)
        {
            AttentionMask = tensor(mask, shape, ScalarType.Int64, device),
        };
    }

    /// <summary>Mixes seed and epoch (SplitMix64's finalizer) so nearby seeds and epochs give unrelated orders.</summary>
    private static int EpochSeed(int seed, int epoch)
    {
        ulong z = ((ulong)(uint)seed << 32) | (uint)epoch;
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z & int.MaxValue);
    }
}
