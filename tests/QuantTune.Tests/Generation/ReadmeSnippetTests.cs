using QuantTune.Generation;
using QuantTune.Models.Loading;
using QuantTune.Tokenization;

namespace QuantTune.Tests.Generation;

/// <summary>The README's library example prints what `quanttune generate` prints for the same prompt.</summary>
public sealed class ReadmeSnippetTests
{
    [Fact]
    public void TheLibraryExampleGeneratesWhatTheCliGenerates()
    {
        // The README's snippet, on tiny-llama in fp32, 24 greedy tokens.
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        var ids = pm.Tokenizer.Encode("The history of the", addSpecialTokens: true);
        var decoder = new TokenStreamDecoder(pm.Tokenizer, ids);
        var text = new System.Text.StringBuilder();
        foreach (var id in TextGenerator.Generate(pm.Model, ids, new SamplingOptions { MaxNewTokens = 24 }))
            text.Append(decoder.Add(id));
        text.Append(decoder.Flush());

        var cli = QuantTune.Tests.Cli.CliRunner.Run("generate", "--model", TestData.TinyLlamaDir, "--prompt", "The history of the", "-n", "24", "--json");
        Assert.Equal(0, cli.ExitCode);
        var completion = System.Text.Json.JsonDocument.Parse(cli.Stdout).RootElement.GetProperty("completion").GetString();
        Assert.Equal(completion, text.ToString());
    }
}
