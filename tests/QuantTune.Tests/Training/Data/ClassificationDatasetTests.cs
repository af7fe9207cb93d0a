using QuantTune.Models.Loading;
using QuantTune.Training.Data;

namespace QuantTune.Tests.Training.Data;

public sealed class ClassificationDatasetTests : IDisposable
{
    private readonly DataTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static int[] Encode(string text) => [.. DataTestFiles.Tokenizer.Encode(text)];

    [Fact]
    public void LabelWordsAreMappedAndTheLossIsOnThemOnly()
    {
        string path = _files.Write("sst.tsv", "sentence\tlabel\nit 's a charming journey . \t1\nunflinchingly bleak \t0\n");
        var data = ClassificationDataset.Load(path, DataTestFiles.Tokenizer);
        Assert.Equal(["0", "1"], data.LabelValues);
        Assert.Equal([Encode(" negative"), Encode(" positive")], data.LabelWordIds);
        Assert.Equal([1, 0], data.Items.Select(i => i.LabelIndex));

        int[] prompt = [1, .. Encode("Review: it 's a charming journey .\nSentiment:")];
        Assert.Equal(prompt, data.Items[0].PromptIds);
        int[] sequence = [.. prompt, .. Encode(" positive")];
        TokenizedExample example = data.Examples[0];
        Assert.Equal(sequence[..^1], example.InputIds);
        Assert.Equal(Encode(" positive"), example.Labels.Where(l => l != TokenizedExample.Ignore));
        Assert.Equal(Enumerable.Repeat(TokenizedExample.Ignore, prompt.Length - 1), example.Labels[..(prompt.Length - 1)]);
    }

    [Fact]
    public void ColumnsAndLabelWordsAreConfigurable()
    {
        string path = _files.Write("custom.tsv", "id\tstars\ttext\n7\tgood\tfine film\n8\tbad\tdull\n");
        var options = new ClassificationOptions
        {
            TextColumn = "text",
            LabelColumn = "stars",
            Template = "{text} =>",
            LabelWords = [new("bad", " no"), new("good", " yes")],
            AddBos = false,
        };
        var data = ClassificationDataset.Load(path, DataTestFiles.Tokenizer, options);
        Assert.Equal([1, 0], data.Items.Select(i => i.LabelIndex));
        Assert.Equal(Encode("fine film =>"), data.Items[0].PromptIds);
        Assert.Equal(Encode(" no"), data.Examples[1].Labels.Where(l => l != TokenizedExample.Ignore));
    }

    [Fact]
    public void AccuracyFromAFakeScorer()
    {
        // The fake model likes label word 1 when the prompt's first id is even, else word 0.
        ClassificationItem[] items =
        [
            new([2, 5], 1, 2), // predicted 1: right
            new([3, 5], 0, 3), // predicted 0: right
            new([4, 5], 0, 4), // predicted 1: wrong
            new([7, 5], 1, 5), // predicted 0: wrong
            new([8, 5], 1, 6), // predicted 1: right
        ];
        int[][] words = [[10], [11, 12]];
        double Score(int[] prompt, int[] word) => (prompt[0] % 2 == 0) == (word[0] == 11) ? -1.0 : -5.0;

        ClassificationResult result = ClassificationEvaluator.Evaluate(items, words, Score);
        Assert.Equal([1, 0, 1, 0, 1], result.Predictions);
        Assert.Equal(3, result.Correct);
        Assert.Equal(5, result.Total);
        Assert.Equal(0.6, result.Accuracy, 12);
    }

    [Fact]
    public void ModelScoresEqualTheLogProbabilitiesOfSeparateForwardPasses()
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        int[] prompt = [1, .. Encode("Review: a fine film .\nSentiment:")];
        int[][] words = [Encode(" negative"), Encode(" positive"), Encode(" very good indeed")];
        double[] batched = ClassificationEvaluator.LabelLogLikelihoods(pm.Model, prompt, words);

        for (int c = 0; c < words.Length; c++)
        {
            // Reference: one unpadded pass over prompt + word, log-softmax, sum the word's tokens.
            int[] sequence = [.. prompt, .. words[c]];
            using var scope = TorchSharp.torch.NewDisposeScope();
            using var _ = TorchSharp.torch.inference_mode();
            var ids = TorchSharp.torch.tensor(sequence.Select(i => (long)i).ToArray(), [1, sequence.Length]);
            var logProbs = pm.Model.Forward(ids).to_type(TorchSharp.torch.ScalarType.Float64).log_softmax(-1);
            double expected = 0;
            for (int k = 0; k < words[c].Length; k++)
            {
                expected += logProbs[0, prompt.Length - 1 + k, words[c][k]].item<double>();
            }

            Assert.Equal(expected, batched[c], 3);
        }

        var result = ClassificationEvaluator.Evaluate(pm.Model, [new ClassificationItem(prompt, 1, 2)], words);
        Assert.Equal(Array.IndexOf(batched, batched.Max()), result.Predictions[0]);
    }
}
