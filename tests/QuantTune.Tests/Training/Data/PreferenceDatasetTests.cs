using QuantTune.Tokenization.ChatTemplates;
using QuantTune.Training.Data;

namespace QuantTune.Tests.Training.Data;

/// <summary>TRL's preference formats read and tokenized as TRL's trainers do, bad records reported by file, line and field, and TRL's truncation.</summary>
public sealed class PreferenceDatasetTests : IDisposable
{
    private readonly DataTestFiles _files = new();
    private static QuantTune.Tokenization.HfTokenizer Tok => DataTestFiles.Tokenizer;
    private static readonly PreferenceOptions Defaults = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void StandardPairsTokenizeThePromptWithBosAndEachCompletionWithEos()
    {
        var path = _files.Write("p.jsonl", """{"prompt": "The sky is", "chosen": " blue.", "rejected": " green."}""" + "\n");
        var set = PreferenceDataset.Load(path, Tok, null, Defaults);
        var pair = Assert.Single(set.Pairs);
        Assert.Equal(Tok.Encode("The sky is", addSpecialTokens: true), pair.Prompt);
        Assert.Equal(1, pair.Prompt[0]);
        Assert.Equal([.. Tok.Encode(" blue."), 2], pair.Chosen);
        Assert.Equal([.. Tok.Encode(" green."), 2], pair.Rejected);
        Assert.False(set.Conversational);
        Assert.Equal(1, pair.Line);
    }

    [Fact]
    public void WithoutAPromptTheSharedPrefixIsThePromptAsTrlExtractsIt()
    {
        var path = _files.Write("p.jsonl", """{"chosen": "The sky is blue.", "rejected": "The sky is green."}""" + "\n");
        var pair = Assert.Single(PreferenceDataset.Load(path, Tok, null, Defaults).Pairs);
        // TRL: the space before the first differing character goes with the completions.
        Assert.Equal(Tok.Encode("The sky is", addSpecialTokens: true), pair.Prompt);
        Assert.Equal([.. Tok.Encode(" blue."), 2], pair.Chosen);
    }

    [Fact]
    public void ConversationalPairsRenderWithTheChatTemplateAndSplitAtTheGenerationPrompt()
    {
        var template = ModelChatTemplate.Load(TestData.TinyLlamaDir, "chatml");
        var path = _files.Write("p.jsonl",
            """{"chosen": [{"role": "user", "content": "Sky colour?"}, {"role": "assistant", "content": "Blue."}], "rejected": [{"role": "user", "content": "Sky colour?"}, {"role": "assistant", "content": "Green."}]}""" + "\n");
        var set = PreferenceDataset.Load(path, Tok, template, Defaults);
        var pair = Assert.Single(set.Pairs);
        Assert.True(set.Conversational);
        Assert.Equal("<|im_start|>user\nSky colour?<|im_end|>\n<|im_start|>assistant\n", Tok.Decode(pair.Prompt));
        Assert.Equal("Blue.<|im_end|>\n", Tok.Decode(pair.Chosen));
        Assert.Equal("Green.<|im_end|>\n", Tok.Decode(pair.Rejected));
    }

    [Fact]
    public void UnpairedRecordsCarryTheirLabelAndPairsUnpairAsTrlUnpairsThem()
    {
        var path = _files.Write("u.jsonl", """
            {"prompt": "2+2=", "completion": "4", "label": true}
            {"prompt": "2+2=", "completion": "5", "label": false}
            """);
        var set = PreferenceDataset.Load(path, Tok, null, Defaults);
        Assert.Equal([true, false], set.Unpaired.Select(u => u.Desirable));
        Assert.Equal([1, 2], set.Unpaired.Select(u => u.Line));
        Assert.Empty(set.Pairs);

        var pairs = PreferenceDataset.Load(_files.Write("p.jsonl", """{"prompt": "a", "chosen": "b", "rejected": "c"}""" + "\n"), Tok, null, Defaults);
        var unpaired = pairs.AsUnpaired();
        Assert.Equal([true, false], unpaired.Select(u => u.Desirable));
        Assert.Equal(pairs.Pairs[0].Rejected, unpaired[1].Completion);
    }

    [Theory]
    [InlineData("""{"prompt": "a", "chosen": 3, "rejected": "c"}""", "line 2: field 'chosen' is a JSON number; expected a string or a list of messages")]
    [InlineData("""{"prompt": "a", "chosen": "b"}""", "line 2: missing field 'rejected'")]
    [InlineData("""{"prompt": "a", "completion": "b", "label": "yes"}""", "line 2: field 'label' is a JSON string; expected true (desirable) or false (undesirable)")]
    [InlineData("""{"prompt": "a", "chosen": [{"role": "assistant", "content": "b"}], "rejected": [{"role": "assistant", "content": "c"}]}""", "line 2: field 'chosen' is a list of messages but the record's other parts are strings")]
    [InlineData("""{"chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "b"}], "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": 1}]}""", "line 2: field 'rejected[1].content' is a JSON number; expected a string")]
    [InlineData("""{"chosen": "same", "rejected": "same"}""", "line 2: 'chosen' and 'rejected' are the same text")]
    public void BadRecordsAreReportedByFileLineAndField(string bad, string expected)
    {
        var path = _files.Write("bad.jsonl", """{"prompt": "x", "chosen": "y", "rejected": "z"}""" + "\n" + bad + "\n");
        var e = Assert.Throws<DataRecordException>(() => PreferenceDataset.Load(path, Tok, null, Defaults));
        Assert.StartsWith(path, e.Message);
        Assert.Contains(expected, e.Message);
        Assert.Equal(2, e.Problem.Line);

        var skipped = PreferenceDataset.Load(path, Tok, null, Defaults, skipBadLines: true);
        Assert.Single(skipped.Pairs);
        Assert.Equal(2, Assert.Single(skipped.Problems).Line);
    }

    [Fact]
    public void TruncationKeepsThePromptsEndAndTheCompletionsStartAndDropsPromptsThatFillTheLimit()
    {
        string longPrompt = string.Join(" ", Enumerable.Range(0, 40).Select(i => $"w{i}"));
        var path = _files.Write("p.jsonl", $$"""
            {"prompt": "{{longPrompt}}", "chosen": " one two three four five six", "rejected": " seven"}
            {"prompt": "{{longPrompt}} {{longPrompt}} {{longPrompt}}", "chosen": " a", "rejected": " b"}
            """);
        var prompt = Tok.Encode(longPrompt, addSpecialTokens: true);
        var options = new PreferenceOptions { MaxPromptLength = 10, MaxLength = 14 };
        var set = PreferenceDataset.Load(path, Tok, null, options with { MaxPromptLength = null, MaxLength = prompt.Count + 2 });
        Assert.Equal([2], set.Dropped);
        var pair = Assert.Single(set.Pairs);
        Assert.Equal(prompt, pair.Prompt);
        Assert.Equal(Tok.Encode(" one two three four five six").Take(2), pair.Chosen);

        var cut = PreferenceDataset.Load(path, Tok, null, options);
        Assert.Empty(cut.Dropped);
        Assert.Equal(prompt.Skip(prompt.Count - 10), cut.Pairs[0].Prompt);
        Assert.Equal(4, cut.Pairs[0].Chosen.Length);
        Assert.Equal([.. Tok.Encode(" seven"), 2], cut.Pairs[0].Rejected);
    }
}
