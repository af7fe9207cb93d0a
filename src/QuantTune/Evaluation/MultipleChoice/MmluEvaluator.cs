using QuantTune.Diagnostics;
using QuantTune.Tokenization;
using static TorchSharp.torch;

namespace QuantTune.Evaluation.MultipleChoice;

/// <summary>
/// Accuracy overall and per subject, and how often each letter was predicted
/// (<paramref name="Predicted"/>) and is the right answer (<paramref name="Answers"/>), A to D:
/// a model that always answers one letter shows here, whatever its accuracy.
/// </summary>
public sealed record MmluResult(double Accuracy, int Correct, int Total, IReadOnlyDictionary<string, (int Correct, int Total)> BySubject, int Shots,
    IReadOnlyList<int> Predicted, IReadOnlyList<int> Answers)
{
    /// <summary>The accuracy of guessing: one in four.</summary>
    public const double Chance = 0.25;
}

/// <summary>
/// MMLU-style multiple choice scored by log-likelihood, as the original evaluation does: the
/// prompt "The following are multiple choice questions (with answers) about {subject}.", k
/// solved examples from a dev set, the question with its lettered choices and "Answer:"; the
/// prediction is the choice whose letter (" A" … " D") the model finds most likely next.
/// </summary>
public static class MmluEvaluator
{
    /// <summary>The subjects to evaluate, at most <paramref name="limitPerSubject"/> questions each (0: all), in file order.</summary>
    public static List<MmluQuestion> Select(IReadOnlyList<MmluQuestion> questions, IReadOnlyCollection<string>? subjects, int limitPerSubject)
    {
        if (limitPerSubject < 0) throw new QuantTune.Diagnostics.InvalidSettingException("MmluEvaluator.Select(limitPerSubject)", limitPerSubject, "expected 0 (all) or a number of questions per subject");
        var available = questions.Select(q => q.Subject).Distinct().ToList();
        var wanted = subjects?.Select(s => s.Trim().Replace('_', ' ')).Where(s => s.Length > 0).ToList();
        if (wanted is not null && wanted.FirstOrDefault(s => !available.Contains(s)) is { } unknown)
            throw new QuantTune.Diagnostics.InvalidSettingException("MmluEvaluator.Select(subjects)", null, $"'{unknown}' is not in the data; its subjects are {string.Join(", ", available.Select(a => a.Replace(' ', '_')))}");
        return questions.Where(q => wanted is null || wanted.Contains(q.Subject))
            .GroupBy(q => q.Subject).SelectMany(g => limitPerSubject > 0 ? g.Take(limitPerSubject) : g).ToList();
    }

    public static MmluResult Evaluate(Func<Tensor, Tensor> logitsOf, Device device, HfTokenizer tokenizer, IReadOnlyList<MmluQuestion> questions,
        IReadOnlyList<MmluQuestion>? dev = null, int shots = 0, int maxTokens = 1024, IProgress<(long Done, long Total)>? progress = null, CancellationToken cancel = default)
    {
        var letterIds = MmluQuestion.Letters.Select(l => tokenizer.Encode(" " + l)[^1]).ToArray();
        var bySubject = new Dictionary<string, (int Correct, int Total)>();
        int correct = 0, done = 0;
        var predictedCounts = new int[MmluQuestion.Letters.Length];
        var answerCounts = new int[MmluQuestion.Letters.Length];
        using var _ = no_grad();
        foreach (var q in questions)
        {
            cancel.ThrowIfCancellationRequested();
            var examples = dev?.Where(d => d.Subject == q.Subject).Take(shots).ToList() ?? [];
            var prompt = $"The following are multiple choice questions (with answers) about {q.Subject}.\n\n" + string.Concat(examples.Select(e => e.Format(true))) + q.Format(false);
            var ids = tokenizer.Encode(prompt, addSpecialTokens: true);
            if (ids.Count > maxTokens) ids = ids.Skip(ids.Count - maxTokens).ToList(); // keep the question, drop the oldest examples
            int predicted;
            using (var scope = NewDisposeScope())
            {
                var logits = logitsOf(tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Count], ScalarType.Int64, device))[0, -1].to_type(ScalarType.Float32);
                var scores = logits.log_softmax(-1).index_select(0, tensor(letterIds.Select(i => (long)i).ToArray(), device: device));
                predicted = (int)scores.argmax().item<long>();
            }
            var (c, t) = bySubject.GetValueOrDefault(q.Subject);
            bool right = predicted == q.Answer;
            predictedCounts[predicted]++;
            answerCounts[q.Answer]++;
            bySubject[q.Subject] = (c + (right ? 1 : 0), t + 1);
            if (right) correct++;
            progress?.Report((++done, questions.Count));
        }
        return new MmluResult(questions.Count == 0 ? 0 : (double)correct / questions.Count, correct, questions.Count, bySubject, shots, predictedCounts, answerCounts);
    }
}
