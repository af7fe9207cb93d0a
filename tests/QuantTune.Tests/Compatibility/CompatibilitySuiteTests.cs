using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Evaluation;
using QuantTune.Generation;
using QuantTune.Models.Config;
using QuantTune.Models.Transformer;
using QuantTune.Peft;
using QuantTune.Serving;
using QuantTune.Tokenization.ChatTemplates;
using QuantTune.Training;
using QuantTune.Training.FineTuning;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Compatibility;

/// <summary>
/// The published files of popular Hugging Face repositories (tests/fixtures/compat, see its NOTICE.md) through the
/// product, each as a tiny model of the same structure (<see cref="TinyShape"/>) with random weights and the real
/// tokenizer files: the real config.json read by the normal loader, then load, greedy generation from the chat
/// template's prompt (rendered exactly as transformers' jinja2 renders it), perplexity, and two QLoRA steps on chat
/// data. A family QuantTune does not read yet is listed in expected.json as "refused: ..." and must be refused with a
/// clean message naming the file and model_type; when the family lands, its entry flips to "works".
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class CompatibilitySuiteTests(ITestOutputHelper log) : TempFolderTest("qt-compat-")
{
    static readonly DateTime Clock = new(2025, 1, 15, 9, 30, 0);

    const string Text = "The tower is 324 metres tall, about the same height as an 81-storey building, and the tallest structure in Paris.";

    const string ChatData = """
        {"messages": [{"role": "user", "content": "What is 2 + 2?"}, {"role": "assistant", "content": "4."}]}
        {"messages": [{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Blue."}]}
        {"messages": [{"role": "user", "content": "Capital of Spain?"}, {"role": "assistant", "content": "Madrid."}]}
        {"messages": [{"role": "user", "content": "Say hello."}, {"role": "assistant", "content": "Hello!"}]}
        """;

    public static TheoryData<string> Repositories => [.. CompatibilityRepository.Names];

    [Fact]
    public void Every_repository_has_an_expected_outcome()
    {
        var expected = CompatibilityRepository.Expected;
        Assert.Equal(CompatibilityRepository.Names, expected.Keys.Order(StringComparer.Ordinal));
        Assert.All(expected.Values, v => Assert.True(v == "works" || v.StartsWith("refused: ", StringComparison.Ordinal), v));
    }

    [Theory]
    [MemberData(nameof(Repositories))]
    public void Repository_works_or_is_refused_cleanly(string name)
    {
        var repo = new CompatibilityRepository(name);
        string expected = CompatibilityRepository.Expected[name];
        if (expected.StartsWith("refused: ", StringComparison.Ordinal))
        {
            var e = Assert.ThrowsAny<QuantTuneException>(() => ModelConfig.Load(repo.Folder));
            Assert.Contains(expected["refused: ".Length..], e.Message);
            Assert.Contains(repo.ConfigPath, e.Message);
            Assert.Contains("model_type", e.Message);
            Assert.Contains(repo.Config["model_type"]!.GetValue<string>(), e.Message);
            return;
        }
        Assert.Equal("works", expected);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Phase(string what) { log.WriteLine($"{name}: {what} {clock.Elapsed.TotalSeconds:F1} s"); clock.Restart(); }
        var real = ModelConfig.Load(repo.Folder);
        string source = Path.Combine(Dir, "source"), model = Path.Combine(Dir, "model");
        repo.WriteTinySource(source);
        var tiny = ModelConfig.Load(source);
        AssertSameStructure(real, tiny);

        using (var built = new CausalLM(tiny, ScalarType.Float32, CPU))
        {
            WeightInit.Initialize(built, seed: 1);
            PlainCheckpoint.SaveCheckpoint(built, source, model);
        }
        if (File.Exists(Path.Combine(source, "chat_template.jinja"))) File.Copy(Path.Combine(source, "chat_template.jinja"), Path.Combine(model, "chat_template.jinja"));
        Phase("config, cut, random weights saved");

        int sequenceLength;
        using (var session = ModelSession.Open(model, ScalarType.Float32, CPU, adapter: null, qst: null))
        {
            Phase("loaded");
            var tokenizer = session.Pretrained.Tokenizer;
            Assert.Equal(real.VocabSize, session.Pretrained.Config.VocabSize);
            string prompt = ChatPrompt(repo, model);
            var promptIds = tokenizer.Encode(prompt);
            var output = session.Generate(promptIds, new SamplingOptions { MaxNewTokens = 4 }).ToList();
            Assert.InRange(output.Count, 1, 4);
            Assert.All(output, id => Assert.InRange(id, 0, real.VocabSize - 1));
            Assert.NotNull(tokenizer.Decode(output));

            Phase("chat template rendered, generated");
            var ppl = PerplexityEvaluator.Evaluate(session.Pretrained.Model, tokenizer.Encode(Text), window: 32);
            Assert.True(double.IsFinite(ppl.Perplexity) && ppl.Perplexity > 1, $"perplexity {ppl.Perplexity}");
            Assert.True(ppl.PredictedTokens > 8);
            sequenceLength = LongestConversation(model, tokenizer) + 1;
            Phase("perplexity");
        }

        string data = Path.Combine(Dir, "chat.jsonl");
        File.WriteAllText(data, ChatData + "\n");
        var summary = FineTuner.Run(new FineTuneRequest
        {
            ModelDirectory = model,
            DataFile = data,
            OutputDirectory = Path.Combine(Dir, "qlora"),
            Method = FineTuneMethod.Qlora,
            Device = CPU,
            SequenceLength = sequenceLength,
            Training = new TrainingOptions { Steps = 2, BatchSize = 1, LogEvery = 1 },
        });
        Phase($"QLoRA, 2 steps of {sequenceLength} tokens");
        Assert.Equal(2, summary.Steps);
        Assert.Equal(3, summary.TrainExamples);
        Assert.True(double.IsFinite(summary.EvalPerplexityBefore) && double.IsFinite(summary.EvalPerplexityAfter));
        Assert.True(File.Exists(Path.Combine(summary.ResultDirectory, "adapter_config.json")));
    }

    /// <summary>The tokens of the longest conversation of <see cref="ChatData"/> as the model's template writes it (some templates add a long system prompt).</summary>
    static int LongestConversation(string model, QuantTune.Tokenization.HfTokenizer tokenizer)
    {
        var template = ModelChatTemplate.Load(model);
        return ChatData.Split('\n').Max(line =>
            tokenizer.Encode(template.Template.Render(JsonNode.Parse(line)!["messages"]!.AsArray(), template.Inputs(false) with { Clock = () => Clock })).Count);
    }

    /// <summary>
    /// The chat prompt of the saved model's own template on chat_render.json's conversation: byte for byte what
    /// Python's jinja2 rendered, with the generation prompt appended to the conversation as rendered without it.
    /// A repository without a template (base models) is prompted with its plain text.
    /// </summary>
    static string ChatPrompt(CompatibilityRepository repo, string model)
    {
        if (repo.ChatRender is not { } render) return Text;
        var template = ModelChatTemplate.Load(model);
        Assert.False(template.IsBuiltIn);
        var messages = render["messages"]!.AsArray();
        string with = template.Template.Render((JsonArray)messages.DeepClone(), template.Inputs(true) with { Clock = () => Clock });
        string without = template.Template.Render((JsonArray)messages.DeepClone(), template.Inputs(false) with { Clock = () => Clock });
        Assert.Equal(render["with_generation_prompt"]!.GetValue<string>(), with);
        Assert.Equal(render["without_generation_prompt"]!.GetValue<string>(), without);
        // As the reference shows it: the generation prompt is appended to the conversation, or (a template
        // without one, like Mistral's [INST] template, whose prompt ends with [/INST]) the two are the same.
        Assert.StartsWith(without, with, StringComparison.Ordinal);
        Assert.Equal(render["with_generation_prompt"]!.GetValue<string>() != render["without_generation_prompt"]!.GetValue<string>(), with.Length > without.Length);
        return with;
    }

    /// <summary>What <see cref="TinyShape"/> promises to keep: the family, its quirks, the layer-kind pattern, the rope settings, the vocabulary and the tie.</summary>
    static void AssertSameStructure(ModelConfig real, ModelConfig tiny)
    {
        Assert.Equal(real.ModelType, tiny.ModelType);
        Assert.Equal(real.VocabSize, tiny.VocabSize);
        Assert.Equal(real.TieWordEmbeddings, tiny.TieWordEmbeddings);
        Assert.Equal(real.KvGroups, tiny.KvGroups);
        Assert.Equal(real.HeadDim * real.NumHeads == real.HiddenSize, tiny.HeadDim * tiny.NumHeads == tiny.HiddenSize);
        Assert.Equal(real.Rope with { ShortFactor = null, LongFactor = null }, tiny.Rope with { ShortFactor = null, LongFactor = null });
        Assert.Equal(real.PartialRotaryFactor, tiny.PartialRotaryFactor);
        Assert.Equal(real.SlidingWindow, tiny.SlidingWindow);
        Assert.Equal((real.QkNorm, real.QkNormOver, real.QkvBias, real.OutputBias, real.MlpBias), (tiny.QkNorm, tiny.QkNormOver, tiny.QkvBias, tiny.OutputBias, tiny.MlpBias));
        Assert.Equal((real.Norm, real.Placement, real.Mlp, real.HiddenAct, real.Positions), (tiny.Norm, tiny.Placement, tiny.Mlp, tiny.HiddenAct, tiny.Positions));
        Assert.Equal((real.ScaleEmbedding, real.AttentionSoftcap, real.FinalLogitSoftcap, real.EmbeddingMultiplier, real.ResidualMultiplier, real.LogitsScaling),
            (tiny.ScaleEmbedding, tiny.AttentionSoftcap, tiny.FinalLogitSoftcap, tiny.EmbeddingMultiplier, tiny.ResidualMultiplier, tiny.LogitsScaling));
        Assert.Equal(real.EosTokenIds, tiny.EosTokenIds);
        Assert.Equal(real.Experts is null, tiny.Experts is null);
        Assert.Equal(real.LinearAttention is null, tiny.LinearAttention is null);
        for (int layer = 0; layer < tiny.NumLayers; layer++)
        {
            Assert.Equal(real.IsSliding(layer), tiny.IsSliding(layer));
            Assert.Equal(real.UsesRope(layer), tiny.UsesRope(layer));
            Assert.Equal(real.IsSparse(layer), tiny.IsSparse(layer));
            Assert.Equal(real.IsLinearAttention(layer), tiny.IsLinearAttention(layer));
        }
        Assert.InRange(tiny.NumLayers, Math.Min(2, real.NumLayers), 8);
    }
}
