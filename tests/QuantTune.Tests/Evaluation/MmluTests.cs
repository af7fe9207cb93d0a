using QuantTune.Diagnostics;
using QuantTune.Evaluation.MultipleChoice;
using QuantTune.Models.Loading;
using static TorchSharp.torch;

namespace QuantTune.Tests.Evaluation;

public sealed class MmluTests() : TempFolderTest("qt-mmlu-")
{
    string Write(string name, string text)
    {
        var path = Path.Combine(Dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void CsvQuotingAndBothAnswerFormatsAreRead()
    {
        var file = Write("world_history_test.csv",
            "question,choice0,choice1,choice2,choice3,answer\n" +
            "\"Which, of these?\",\"say \"\"hi\"\"\",b,c,d,2\n" +
            "\"Two\nlines\",w,x,y,z,0\n");
        var qs = MmluQuestion.Load(file);
        Assert.Equal(2, qs.Count);
        Assert.Equal("world history", qs[0].Subject);
        Assert.Equal("Which, of these?", qs[0].Question);
        Assert.Equal("say \"hi\"", qs[0].Choices[0]);
        Assert.Equal(2, qs[0].Answer);
        Assert.Equal("Two\nlines", qs[1].Question);
        Assert.Equal(3, qs[1].Line);
        var original = MmluQuestion.Load(Write("x_dev.csv", "q?,a,b,c,d,D\n"));
        Assert.Equal(3, original[0].Answer);
    }

    [Fact]
    public void MalformedRowsNameTheFileAndLine()
    {
        var e = Assert.ThrowsAny<QuantTuneException>(() => MmluQuestion.Load(Write("bad_test.csv", "question,choice0,choice1,choice2,choice3,answer\nq,a,b,c,d,1\nq,a,b,c\n")));
        Assert.Contains("bad_test.csv", e.Message);
        Assert.Contains("line 3", e.Message);
        e = Assert.ThrowsAny<QuantTuneException>(() => MmluQuestion.Load(Write("bad2_test.csv", "q,a,b,c,d,7\n")));
        Assert.Contains("answer '7'", e.Message);
    }

    [Fact]
    public void ScoringPicksTheMostLikelyLetter()
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        var questions = MmluQuestion.Load(Write("s_test.csv", "q1,a,b,c,d,0\nq2,a,b,c,d,3\nq3,a,b,c,d,1\n"));
        var letters = MmluQuestion.Letters.Select(l => pm.Tokenizer.Encode(" " + l)[^1]).ToArray();
        // A fake model that always prefers letter C: right on none of the three (answers A, D, B).
        Func<Tensor, Tensor> prefersC = ids =>
        {
            var logits = zeros(ids.shape[0], ids.shape[1], pm.Config.VocabSize);
            logits[.., .., letters[2]] = tensor(5f);
            return logits;
        };
        Assert.Equal(0, MmluEvaluator.Evaluate(prefersC, CPU, pm.Tokenizer, questions).Correct);
        Func<Tensor, Tensor> prefersA = ids =>
        {
            var logits = zeros(ids.shape[0], ids.shape[1], pm.Config.VocabSize);
            logits[.., .., letters[0]] = tensor(5f);
            return logits;
        };
        var r = MmluEvaluator.Evaluate(prefersA, CPU, pm.Tokenizer, questions);
        Assert.Equal(1, r.Correct);
        Assert.Equal(1.0 / 3, r.Accuracy, 6);
        // The letter distribution shows the bias: always A, against the answers' own spread.
        Assert.Equal([3, 0, 0, 0], r.Predicted);
        Assert.Equal(questions.Count, r.Answers.Sum());
        Assert.Equal(questions.Count(q => q.Answer == 0), r.Answers[0]);
        // The real model answers something for each question.
        var real = MmluEvaluator.Evaluate(ids => pm.Model.Forward(ids), CPU, pm.Tokenizer, MmluQuestion.Load(Path.Combine(AppContext.BaseDirectory, "assets", "data", "mmlu", "dev")).Take(12).ToList());
        Assert.Equal(12, real.Total);
    }

    [Fact]
    public void SubjectsAndAPerSubjectLimitChooseTheQuestions()
    {
        var all = MmluQuestion.Load(Path.Combine(AppContext.BaseDirectory, "assets", "data", "mmlu", "test"));
        var two = MmluEvaluator.Select(all, ["marketing", "abstract_algebra"], limitPerSubject: 3);
        Assert.Equal(6, two.Count);
        Assert.Equal(["abstract algebra", "marketing"], two.Select(q => q.Subject).Distinct().Order());
        Assert.Equal(all.Where(q => q.Subject == "marketing").Take(3), two.Where(q => q.Subject == "marketing"));
        Assert.Equal(all.Count, MmluEvaluator.Select(all, null, 0).Count);
        var e = Assert.Throws<InvalidSettingException>(() => MmluEvaluator.Select(all, ["astrology"], 0));
        Assert.Equal("MmluEvaluator.Select(subjects)", e.Setting);
        Assert.Contains("high_school_geography", e.Message);
    }

    [Fact]
    public void TheCliDefaultsToFiveShotsAndReportsTheLetters()
    {
        var r = QuantTune.Tests.Cli.CliRunner.Run("eval", "mmlu", "--model", TestData.TinyLlamaDir, "--subjects", "marketing", "--limit", "2", "--json");
        Assert.Equal(0, r.ExitCode);
        var json = System.Text.Json.JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Equal(5, json.GetProperty("shots").GetInt32());
        Assert.Equal(2, json.GetProperty("total").GetInt32());
        Assert.Equal(2, json.GetProperty("predicted_letters").EnumerateObject().Sum(p => p.Value.GetInt32()));
        Assert.Equal(0.25, json.GetProperty("chance").GetDouble());
        var bad = QuantTune.Tests.Cli.CliRunner.Run("eval", "mmlu", "--model", TestData.TinyLlamaDir, "--shots", "-1");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--shots -1", bad.Stderr);
    }
}
