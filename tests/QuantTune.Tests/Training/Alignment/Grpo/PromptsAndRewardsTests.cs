using System.Text.Json;
using QuantTune.Diagnostics;
using QuantTune.Tokenization;
using QuantTune.Tokenization.ChatTemplates;
using QuantTune.Training.Alignment.Grpo.Rewards;
using QuantTune.Training.Data;

namespace QuantTune.Tests.Training.Alignment.Grpo;

/// <summary>
/// GRPO's prompt-only data (strings with BOS, messages through the chat template, extra fields kept, bad records named
/// by line and field) and the built-in rewards (GSM8K-style exact answers, regex, format, length, weights).
/// </summary>
public sealed class PromptsAndRewardsTests() : TempFolderTest("qt-grpo-data-")
{
    static PromptRecord Record(string answer) => new([1], "q", new Dictionary<string, JsonElement> { ["answer"] = JsonSerializer.SerializeToElement(answer) }, 1);

    [Fact]
    public void PromptsKeepTheirFieldsAndBadRecordsNameTheirLineAndField()
    {
        var tokenizer = HfTokenizer.FromFile(Path.Combine(TestData.TinyLlamaDir, "tokenizer.json"));
        string path = Path.Combine(Dir, "p.jsonl");
        File.WriteAllLines(path, ["{\"prompt\": \"It was a long day\", \"answer\": 42}", "{\"prompt\": [{\"role\": \"user\", \"content\": \"Hi\"}]}"]);
        var template = ModelChatTemplate.Load(TestData.TinyLlamaDir, "chatml");
        var data = PromptDataset.Load(path, tokenizer, template, maxPromptLength: 3);
        Assert.Equal(2, data.Prompts.Count);
        Assert.Equal("42", data.Prompts[0].Field("answer"));
        Assert.Equal(tokenizer.Encode("It was a long day", addSpecialTokens: true).TakeLast(3), data.Prompts[0].Ids);
        Assert.Contains("<|im_start|>assistant", data.Prompts[1].Text);

        File.WriteAllLines(path, ["{\"prompt\": \"ok\"}", "{\"question\": \"no prompt\"}"]);
        var e = Assert.Throws<DataRecordException>(() => PromptDataset.Load(path, tokenizer, template, 64));
        Assert.Contains("line 2", e.Message);
        Assert.Contains("'prompt'", e.Message);
        File.WriteAllLines(path, ["{\"prompt\": [{\"role\": \"user\"}]}"]);
        e = Assert.Throws<DataRecordException>(() => PromptDataset.Load(path, tokenizer, template, 64));
        Assert.Contains("'prompt[0].content'", e.Message);
    }

    [Fact]
    public void BuiltInRewardsScoreAsDocumented()
    {
        var exact = RewardRegistry.Parse("exact-answer");
        Assert.Equal(1.0, exact.Reward.Score("so 3 + 4 = 7, the answer is 1,200.", Record("Natalia sold 48... #### 1200")));
        Assert.Equal(1.0, exact.Reward.Score("first 12 then \\boxed{72} and 5 more", Record("#### 72")));
        Assert.Equal(0.0, exact.Reward.Score("the answer is 71", Record("#### 72")));
        Assert.Equal(0.0, exact.Reward.Score("no number at all", Record("72")));

        Assert.Equal(1.0, RewardRegistry.Parse(@"regex:\bthe\b").Reward.Score("over the hill", Record("")));
        Assert.Equal(0.0, RewardRegistry.Parse(@"regex:\bthe\b").Reward.Score("other", Record("")));
        var format = RewardRegistry.Parse(@"2*format:<think>.*</think>\s*\d+");
        Assert.Equal(2.0, format.Weight);
        Assert.Equal(@"format:<think>.*</think>\s*\d+", format.Label);
        Assert.Equal(1.0, format.Reward.Score("<think>a\nb</think> 12", Record("")));
        Assert.Equal(0.0, format.Reward.Score("x <think>a</think> 12", Record("")));
        Assert.Equal(0.5, RewardRegistry.Parse("length:10").Reward.Score("12345", Record("")), 12);

        Assert.Contains("no reward called 'nope'", Assert.Throws<QuantTuneException>(() => RewardRegistry.Parse("nope")).Message);
        Assert.Contains("needs an argument", Assert.Throws<QuantTuneException>(() => RewardRegistry.Parse("regex")).Message);
        Assert.Contains("not a valid regular expression", Assert.Throws<QuantTuneException>(() => RewardRegistry.Parse("regex:(")).Message);
    }
}
