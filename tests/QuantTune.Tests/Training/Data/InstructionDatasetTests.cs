using QuantTune.Training.Data;

namespace QuantTune.Tests.Training.Data;

public sealed class InstructionDatasetTests : IDisposable
{
    private const string WithInputPrompt =
        "Below is an instruction that describes a task, paired with an input that provides further context. "
        + "Write a response that appropriately completes the request.\n\n### Instruction:\nTranslate to French.\n\n### Input:\ncheese\n\n### Response:\n";

    private const string WithoutInputPrompt =
        "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
        + "### Instruction:\nName a color.\n\n### Response:\n";

    private readonly DataTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static int[] Encode(string text) => [.. DataTestFiles.Tokenizer.Encode(text)];

    [Fact]
    public void PromptIsMaskedAndOutputAndEosArePredicted()
    {
        string path = _files.Write("a.json", """
            [
              {"instruction": "Translate to French.", "input": "cheese", "output": "fromage"},
              {"instruction": "Name a color.", "output": "Blue is a color."}
            ]
            """);
        var data = InstructionDataset.Load(path, DataTestFiles.Tokenizer);
        Assert.Equal(2, data.Examples.Count);
        Assert.Empty(data.Problems);

        foreach ((TokenizedExample example, string prompt, string output) in new[]
        {
            (data.Examples[0], WithInputPrompt, "fromage"),
            (data.Examples[1], WithoutInputPrompt, "Blue is a color."),
        })
        {
            // Reference: BOS + prompt tokens + output tokens + EOS, each part tokenized alone.
            int[] prompt1 = [1, .. Encode(prompt)];
            int[] sequence = [.. prompt1, .. Encode(output), 2];
            Assert.Equal(sequence[..^1], example.InputIds);
            for (int i = 0; i < example.Length; i++)
            {
                // Labels[i] is the target of position i: sequence[i + 1], unless that token is part of the prompt.
                int expected = i + 1 < prompt1.Length ? TokenizedExample.Ignore : sequence[i + 1];
                Assert.Equal(expected, example.Labels[i]);
            }

            Assert.Equal(2, example.Labels[^1]);
            Assert.Equal(prompt1.Length - 1, example.Labels.Count(l => l == TokenizedExample.Ignore));
        }
    }

    [Fact]
    public void PromptAndOutputAreTokenizedSeparately()
    {
        // "\n\n" ends the prompt and begins the output: tokenized together they may merge into one token.
        var options = new InstructionOptions { Template = new PromptTemplate("{instruction}\n", "{instruction}\n"), AddBos = false, AddEos = false };
        var record = new InstructionRecord("Say it", null, "\nhello", 1);
        TokenizedExample example = InstructionDataset.Tokenize(record, DataTestFiles.Tokenizer, options)!;
        int[] prompt = Encode("Say it\n");
        Assert.Equal([.. prompt, .. Encode("\nhello")[..^1]], example.InputIds);
        Assert.All(example.Labels[..(prompt.Length - 1)], l => Assert.Equal(TokenizedExample.Ignore, l));
        Assert.Equal(Encode("\nhello"), example.Labels[(prompt.Length - 1)..]);
    }

    [Fact]
    public void TruncationDropsTheEndOfTheOutput()
    {
        var record = new InstructionRecord("Name a color.", "", "Blue is a color, and so is green, and so is red.", 1);
        int[] prompt = [1, .. Encode(WithoutInputPrompt)];
        int[] full = [.. prompt, .. Encode(record.Output), 2];
        int max = prompt.Length + 3;
        TokenizedExample example = InstructionDataset.Tokenize(record, DataTestFiles.Tokenizer, new InstructionOptions { MaxLength = max })!;
        Assert.Equal(max, example.Length);
        Assert.Equal(full[..max], example.InputIds);
        Assert.Equal(full[prompt.Length..(max + 1)], example.Labels[(prompt.Length - 1)..]);
        Assert.DoesNotContain(2, example.Labels);

        // A prompt that fills the limit leaves nothing to learn: the record is set aside, not trained on.
        string path = _files.Write("long.jsonl", """{"instruction": "Name a color.", "output": "Blue."}""");
        var data = InstructionDataset.Load(path, DataTestFiles.Tokenizer, new InstructionOptions { MaxLength = prompt.Length - 1 });
        Assert.Empty(data.Examples);
        Assert.Single(data.TooLong);
    }

    [Fact]
    public void TemplateLeavesPlaceholderTextInRecordsAlone()
    {
        Assert.Equal("I: {input}\nX: a\n", new PromptTemplate("I: {instruction}\nX: {input}\n", "").Format("{input}", "a"));
    }

    [Fact]
    public void JsonLinesAndNullInputAreRead()
    {
        string path = _files.Write("a.jsonl", """
            {"instruction": "Name a color.", "input": null, "output": "Blue."}

            {"instruction": "Translate to French.", "input": "cheese", "output": "fromage"}
            """);
        var data = InstructionDataset.Load(path, DataTestFiles.Tokenizer);
        Assert.Equal(2, data.Examples.Count);
        Assert.Equal([1, .. Encode(WithoutInputPrompt)], data.Examples[0].InputIds[..(Encode(WithoutInputPrompt).Length + 1)]);
    }
}
