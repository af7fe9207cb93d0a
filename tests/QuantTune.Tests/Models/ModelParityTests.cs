using QuantTune.Evaluation;
using QuantTune.Generation;
using QuantTune.Models.Loading;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models;

/// <summary>
/// fp32 inference against the outputs transformers (tiny-llama, tiny-qwen2; their perplexity on the first 8,193
/// tokens from the NumPy port, checked against transformers on the whole file) or its NumPy port
/// (tools/family-fixtures: tiny-qwen3, tiny-qwen3-moe, tiny-qwen3-moe-gguf, tiny-qwen2-moe, tiny-qwen2-moe-gguf, tiny-mixtral, tiny-qwen3.5, tiny-qwen3.5-gguf, tiny-gemma3, tiny-gemma2, tiny-phi3, tiny-gpt2, tiny-olmo2, tiny-smollm3, tiny-smollm3-gguf, tiny-granite, tiny-stablelm) computed for the same checkpoints:
/// logits and every hidden state within 1e-4, greedy tokens equal, perplexity to 4 significant digits.
/// </summary>
public abstract class ModelParityTests(string folder, ITestOutputHelper output) : IDisposable
{
    const double Tolerance = 1e-4;
    protected readonly PretrainedModel Model = PretrainedModel.Load(folder);
    protected readonly ReferenceOutputs Reference = new(folder);
    /// <summary>The test's output, for a derived class's own checks.</summary>
    protected ITestOutputHelper Output => output;

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void LogitsAndHiddenStatesMatchTransformers(int sequence)
    {
        using var scope = NewDisposeScope();
        var ids = Reference.Get($"input_ids.{sequence}").unsqueeze(0);
        var hidden = new List<Tensor>();
        Tensor logits;
        using (inference_mode()) logits = Model.Model.Forward(ids, hiddenStates: hidden);
        double logitsError = (logits[0] - Reference.Get($"logits.{sequence}")).abs().max().item<float>();
        output.WriteLine($"sequence {sequence}: max |logits - reference| = {logitsError:E2}");
        Assert.True(logitsError <= Tolerance, $"logits differ by {logitsError}");
        Assert.Equal(Model.Config.NumLayers + 1, hidden.Count);
        for (int l = 0; l < hidden.Count; l++)
        {
            double e = (hidden[l][0] - Reference.Get($"hidden_states.{sequence}.{l}")).abs().max().item<float>();
            output.WriteLine($"  hidden state {l}: {e:E2}");
            Assert.True(e <= Tolerance, $"hidden state {l} differs by {e}");
        }
    }

    [Fact]
    public void GreedyGenerationMatchesTransformers()
    {
        var prompt = Reference.PromptIds;
        Assert.Equal(prompt, Model.Tokenizer.Encode("The history of the"));
        var generated = TextGenerator.Generate(Model.Model, prompt, new SamplingOptions { MaxNewTokens = Reference.MaxNewTokens, StopTokens = [] }).ToArray();
        Assert.Equal(Reference.GreedyOutputIds, prompt.Concat(generated).ToArray());
    }

    [Fact]
    public void PerplexityMatchesTransformersToFourSignificantDigits()
    {
        var ids = WikiTextTokens.Of(Model.Tokenizer);
        if (Reference.PerplexityTokens is int n) ids = ids.Take(n).ToArray();
        var result = PerplexityEvaluator.Evaluate(Model.Model, ids, window: 256, stride: 256, batchSize: 8);
        output.WriteLine($"perplexity {result.Perplexity:F6} (reference {Reference.Perplexity:F6}), {result.PredictedTokens} tokens");
        Assert.Equal(Reference.PredictedTokens, result.PredictedTokens);
        Assert.True(Math.Abs(result.Perplexity - Reference.Perplexity) / Reference.Perplexity < 5e-5,
            $"perplexity {result.Perplexity} vs reference {Reference.Perplexity}");
    }

    /// <summary>The reference's logits of sequence 0 with <paramref name="quirk"/> removed lie far (over 0.1) from QuantTune's.</summary>
    protected void QuirkMovesTheLogits(string quirk)
    {
        using var scope = NewDisposeScope();
        var ids = Reference.Get("input_ids.0").unsqueeze(0);
        Tensor logits;
        using (inference_mode()) logits = Model.Model.Forward(ids);
        var without = Reference.Get($"logits.0.{quirk}");
        double moved = (logits[0].narrow(0, 0, without.shape[0]) - without).abs().max().item<float>();
        output.WriteLine($"{quirk}: the logits move by {moved:F4}");
        Assert.True(moved > 0.1, $"{quirk}: the logits move by only {moved}");
    }

    public void Dispose()
    {
        Model.Dispose();
        Reference.Dispose();
    }
}

public sealed class TinyLlamaParityTests(ITestOutputHelper output) : ModelParityTests(TestData.TinyLlamaDir, output);

public sealed class TinyQwen2ParityTests(ITestOutputHelper output) : ModelParityTests(TestData.TinyQwen2Dir, output);

public sealed class TinyQwen3ParityTests(ITestOutputHelper output) : ModelParityTests(TestData.TinyQwen3Dir, output);

public sealed class TinyQwen3MoeParityTests(ITestOutputHelper output) : ModelParityTests(TestData.TinyQwen3MoeDir, output);

/// <summary>tiny-qwen3-moe-gguf (every layer sparse, the Qwen3-MoE that llama.cpp's qwen3moe holds), the GGUF checks' source.</summary>
public sealed class TinyQwen3MoeGgufParityTests(ITestOutputHelper output) : ModelParityTests(TestData.TinyQwen3MoeGgufDir, output);

/// <summary>tiny-qwen2-moe-gguf (every layer sparse, the Qwen2-MoE that llama.cpp's qwen2moe holds), the GGUF checks' source.</summary>
public sealed class TinyQwen2MoeGgufParityTests(ITestOutputHelper output) : ModelParityTests(TestData.TinyQwen2MoeGgufDir, output);

public sealed class TinyQwen2MoeParityTests(ITestOutputHelper output) : ModelParityTests(TestData.TinyQwen2MoeDir, output)
{
    /// <summary>Qwen2-MoE's shared expert bites, and so does its sigmoid gate.</summary>
    [Theory]
    [InlineData("without_shared_expert")]
    [InlineData("without_shared_expert_gate")]
    public void TheSharedExpertAndItsGateMoveTheLogits(string quirk) => QuirkMovesTheLogits(quirk);
}

public sealed class TinyMixtralParityTests(ITestOutputHelper output) : ModelParityTests(TestData.TinyMixtralDir, output);

public sealed class TinyQwen35ParityTests(ITestOutputHelper output) : ModelParityTests(TestData.TinyQwen35Dir, output)
{
    /// <summary>A third sequence of 100 tokens: past one chunk of the delta rule, the second one padded.</summary>
    [Fact]
    public void APromptLongerThanOneChunkMatchesTransformers() => LogitsAndHiddenStatesMatchTransformers(2);
}

/// <summary>tiny-qwen3.5-gguf (value heads the size of the key heads, the Qwen3.5 that llama.cpp's qwen35 holds), the GGUF checks' source.</summary>
public sealed class TinyQwen35GgufParityTests(ITestOutputHelper output) : ModelParityTests(TestData.TinyQwen35GgufDir, output)
{
    /// <summary>The third sequence, 100 tokens: past one chunk of the delta rule.</summary>
    [Fact]
    public void APromptLongerThanOneChunkMatchesTransformers() => LogitsAndHiddenStatesMatchTransformers(2);
}

public sealed class TinyGemma3ParityTests(ITestOutputHelper output) : ModelParityTests(TestData.TinyGemma3Dir, output);

public sealed class TinyGemma2ParityTests(ITestOutputHelper output) : ModelParityTests(TestData.TinyGemma2Dir, output);

public sealed class TinyPhi3ParityTests(ITestOutputHelper output) : ModelParityTests(TestData.TinyPhi3Dir, output);

public sealed class TinyGpt2ParityTests(ITestOutputHelper output) : ModelParityTests(TestData.TinyGpt2Dir, output);

public sealed class TinyOlmo2ParityTests(ITestOutputHelper output) : ModelParityTests(TestData.TinyOlmo2Dir, output);

public sealed class TinySmolLM3ParityTests(ITestOutputHelper output) : ModelParityTests(TestData.TinySmolLM3Dir, output);

/// <summary>tiny-smollm3-gguf (no RoPE in every fourth layer only, the SmolLM3 that llama.cpp's smollm3 holds), the GGUF checks' source.</summary>
public sealed class TinySmolLM3GgufParityTests(ITestOutputHelper output) : ModelParityTests(TestData.TinySmolLM3GgufDir, output);

public sealed class TinyGraniteParityTests(ITestOutputHelper output) : ModelParityTests(TestData.TinyGraniteDir, output)
{
    /// <summary>Each of Granite's multipliers bites: the reference logits with one removed lie far from QuantTune's, which match the full reference.</summary>
    [Theory]
    [InlineData("without_embedding_multiplier")]
    [InlineData("without_residual_multiplier")]
    [InlineData("head_dim_attention_scale")]
    [InlineData("without_logits_scaling")]
    public void EveryMultiplierMovesTheLogits(string quirk) => QuirkMovesTheLogits(quirk);
}

public sealed class TinyStableLmParityTests(ITestOutputHelper output) : ModelParityTests(TestData.TinyStableLmDir, output)
{
    /// <summary>Each of StableLM's differences from Llama bites: partial rotary, q/k/v biases, the LayerNorms' biases and their mean.</summary>
    [Theory]
    [InlineData("full_rotary")]
    [InlineData("without_qkv_bias")]
    [InlineData("norm_without_bias")]
    [InlineData("rms_norm")]
    public void EveryDifferenceMovesTheLogits(string quirk) => QuirkMovesTheLogits(quirk);
}
