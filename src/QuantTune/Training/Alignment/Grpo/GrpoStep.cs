using QuantTune.Generation;
using QuantTune.Runtime;
using QuantTune.Tokenization;
using QuantTune.Training.Alignment.Grpo.Rewards;
using QuantTune.Training.Data;
using static TorchSharp.torch;

namespace QuantTune.Training.Alignment.Grpo;

/// <summary>
/// One micro-batch of GRPO, as TRL's GRPOTrainer makes and scores a generation batch and takes its loss: for each
/// prompt of the batch, G completions sampled from the policy (KV-cache generation with the model in eval mode,
/// temperature, top-p, top-k; the seed drawn from the trainer's per-step random state, so a run and its resumption
/// sample the same completions), each completion scored by the weighted sum of the rewards, the advantages normalised
/// within each prompt's group, then the clipped surrogate (+ β·KL to the reference) on the policy's per-token
/// log-probabilities of the completions, back-propagated scaled for gradient accumulation.
/// Metrics under TRL's names: reward, reward_std, frac_reward_zero_std, rewards/LABEL/mean, completions/mean_length,
/// completions/clipped_ratio, and <see cref="GrpoLoss"/>'s kl and clip_ratio/*.
/// </summary>
public sealed class GrpoStep
{
    public const string Reward = "reward";
    public const string RewardStd = "reward_std";
    public const string ZeroStd = "frac_reward_zero_std";
    public const string MeanLength = "completions/mean_length";
    public const string ClippedRatio = "completions/clipped_ratio";

    /// <summary>The policy: its forward for the log-probabilities, the module whose train/eval mode generation switches, its incremental decoder.</summary>
    public required LanguageModelForward Policy { get; init; }
    public required TorchSharp.torch.nn.Module Module { get; init; }
    public required Func<IDecodingSession> Decoding { get; init; }
    /// <summary>Ids a completion stops at (kept as its last token).</summary>
    public required IReadOnlyCollection<int> Stop { get; init; }
    public required HfTokenizer Tokenizer { get; init; }
    public required IReadOnlyList<PromptRecord> Prompts { get; init; }
    public required IReadOnlyList<WeightedReward> Rewards { get; init; }
    public required GrpoOptions Options { get; init; }
    /// <summary>Per-token log-probabilities under the reference (ids, labels → [R, T]); needed when β is above 0.</summary>
    public Func<Tensor, Tensor, Tensor>? Reference { get; init; }
    public required Device Device { get; init; }
    public int PadId { get; init; }

    /// <summary>For <see cref="Trainer.Objective"/>: sample, score, and back-propagate the GRPO loss of a batch of <see cref="PromptBatchSource"/>; <paramref name="afterForward"/> is called once the policy's forward pass over the completions is held.</summary>
    public ObjectiveStep Train(TrainingBatch batch, double scale, Action? afterForward = null)
    {
        using var scope = NewDisposeScope();
        var o = Options;
        int[] prompts = PromptBatchSource.Indices(batch);
        long seed;
        using (var draw = randint(0, int.MaxValue, [1], dtype: ScalarType.Int64)) seed = draw.item<long>();
        var completions = Sample(prompts, seed);

        // Rewards: each function's scores, then their weighted sum (TRL's reward_weights).
        int n = completions.Count;
        var perReward = new double[Rewards.Count, n];
        var total = new double[n];
        for (int i = 0; i < n; i++)
        {
            var prompt = Prompts[prompts[i / o.NumGenerations]];
            string text = Tokenizer.Decode(completions[i].Tokens, skipSpecialTokens: true);
            for (int k = 0; k < Rewards.Count; k++)
            {
                perReward[k, i] = Rewards[k].Reward.Score(text, prompt);
                total[i] += Rewards[k].Weight * perReward[k, i];
            }
        }
        var (advantages, means, stds) = GrpoLoss.Advantages(total, o.NumGenerations, o.ScaleRewards);
        var metrics = new Dictionary<string, double>
        {
            [Reward] = means.Average(),
            [RewardStd] = stds.Average(),
            [ZeroStd] = stds.Count(s => Math.Abs(s) < 1e-8) / (double)stds.Length,
            [MeanLength] = completions.Average(c => c.Tokens.Length),
            [ClippedRatio] = completions.Count(c => c.Truncated) / (double)n,
        };
        for (int k = 0; k < Rewards.Count; k++)
            metrics[$"rewards/{Rewards[k].Label}/mean"] = Enumerable.Range(0, n).Average(i => perReward[k, i]);

        var (ids, labels) = Rows(prompts, completions);
        var mask = labels.NotEqualTo(TokenizedExample.Ignore).to_type(ScalarType.Float32);
        Tensor? reference = null;
        if (o.Beta > 0)
        {
            using var _ = no_grad();
            reference = (Reference ?? throw new InvalidOperationException("β above 0 needs a reference model"))(ids, labels);
        }
        var adv = tensor(advantages, ScalarType.Float32, Device);
        var hidden = Policy.Hidden(ids);
        afterForward?.Invoke();
        double loss = TokenLogProbs.Backward(hidden, Policy.Head, labels, logps =>
        {
            var result = GrpoLoss.Compute(logps, null, reference, adv, mask, o);
            foreach (var (name, value) in result.Metrics) metrics[name] = value;
            return ((double)result.Loss.item<float>(), result.Loss.Times(scale));
        });
        long tokens = completions.Sum(c => (long)c.Tokens.Length);
        return new ObjectiveStep(loss, tokens, metrics);
    }

    /// <summary>
    /// G completions per prompt, in prompt order: the group decodes as one batch of G rows (they share the prompt, so
    /// no row is padded), row g sampled with its own generator seeded <paramref name="seed"/> + p·G + g; a row that
    /// has stopped is fed its stop token again and its samples are ignored.
    /// </summary>
    List<(int[] Tokens, bool Truncated)> Sample(int[] prompts, long seed)
    {
        var o = Options;
        var result = new List<(int[] Tokens, bool Truncated)>();
        bool training = Module.training;
        Module.eval();
        try
        {
            for (int p = 0; p < prompts.Length; p++)
                result.AddRange(Group(Prompts[prompts[p]].Ids, seed + (long)p * o.NumGenerations));
        }
        finally
        {
            if (training) Module.train();
        }
        return result;
    }

    IEnumerable<(int[] Tokens, bool Truncated)> Group(int[] prompt, long seed)
    {
        var o = Options;
        int g = o.NumGenerations;
        var samplers = Enumerable.Range(0, g).Select(i => new Sampler(new SamplingOptions { Temperature = o.Temperature, TopP = o.TopP, TopK = o.TopK, Seed = seed + i })).ToList();
        var tokens = Enumerable.Range(0, g).Select(_ => new List<int>()).ToList();
        var done = new bool[g];
        try
        {
            using var session = Decoding();
            using var _ = inference_mode();
            long[] input = [.. Enumerable.Range(0, g).SelectMany(_ => prompt.Select(t => (long)t))];
            int width = prompt.Length;
            for (int step = 0; step < o.MaxCompletionLength && !done.All(d => d); step++)
            {
                using var scope = NewDisposeScope();
                var logits = session.NextLogits(tensor(input, [g, width], ScalarType.Int64, Device));
                for (int i = 0; i < g; i++)
                {
                    if (done[i]) continue;
                    int next = samplers[i].Next(logits[i]);
                    tokens[i].Add(next);
                    done[i] = Stop.Contains(next);
                }
                input = [.. tokens.Select(t => (long)t[^1])];
                width = 1;
            }
        }
        finally
        {
            foreach (var sampler in samplers) sampler.Dispose();
        }
        return tokens.Select((t, i) => (t.ToArray(), !done[i]));
    }

    /// <summary>Prompt + completion per row, right-padded: ids [N, T] and the completion tokens as labels (−100 elsewhere).</summary>
    (Tensor Ids, Tensor Labels) Rows(int[] prompts, List<(int[] Tokens, bool Truncated)> completions)
    {
        int n = completions.Count;
        var rows = Enumerable.Range(0, n).Select(i => (Prompt: Prompts[prompts[i / Options.NumGenerations]].Ids, Completion: completions[i].Tokens)).ToList();
        int length = rows.Max(r => r.Prompt.Length + r.Completion.Length) - 1;
        var ids = new long[n * length];
        var labels = new long[n * length];
        for (int r = 0; r < n; r++)
        {
            var (prompt, completion) = rows[r];
            int count = prompt.Length + completion.Length;
            int Token(int t) => t < prompt.Length ? prompt[t] : completion[t - prompt.Length];
            for (int t = 0; t < length; t++)
            {
                bool real = t < count - 1;
                ids[r * length + t] = real ? Token(t) : PadId;
                labels[r * length + t] = real && t + 1 >= prompt.Length ? Token(t + 1) : TokenizedExample.Ignore;
            }
        }
        return (tensor(ids, [n, length], device: Device), tensor(labels, [n, length], device: Device));
    }
}
