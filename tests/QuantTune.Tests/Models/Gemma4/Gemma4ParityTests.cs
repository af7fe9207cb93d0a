using Xunit.Abstractions;

namespace QuantTune.Tests.Models.Gemma4;

/// <summary>
/// tiny-gemma4 against tools/family-fixtures/numpy_gemma4.py (a port of transformers' modeling_gemma4.py): logits and
/// hidden states of three sequences (the third, 100 tokens, past the 16-token window), greedy generation through the
/// KV cache (where the last two layers attend over layers 2's and 1's cached keys and values), perplexity.
/// </summary>
public sealed class TinyGemma4ParityTests(ITestOutputHelper output) : ModelParityTests(TestData.TinyGemma4Dir, output)
{
    /// <summary>The third sequence, 100 tokens: the sliding layers and the layer sharing their keys see only the last 16.</summary>
    [Fact]
    public void APromptPastTheWindowMatchesTransformers() => LogitsAndHiddenStatesMatchTransformers(2);
}
