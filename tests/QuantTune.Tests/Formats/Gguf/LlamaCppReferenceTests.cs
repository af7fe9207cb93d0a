using System.Text.Json;
using QuantTune.Evaluation;
using QuantTune.Formats.Gguf;
using QuantTune.Generation;
using QuantTune.Models.Loading;
using QuantTune.Models.Transformer;
using QuantTune.Tests.Models;
using QuantTune.Tokenization;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary>
/// llama.cpp's own reading of QuantTune's GGUF exports, committed in tests/fixtures/llamacpp/*.json by
/// tools/llamacpp/check-gguf.mjs (llama.cpp release v0.5.0 through node-llama-cpp 3.22.1's prebuilt CPU
/// binary, 2 threads): the same export made here, read back by QuantTune, gives llama.cpp's token ids
/// (by the tokenizer read from the file and by the model's own), its logits and next-token
/// log-probabilities on the fixture's input_ids.0, its greedy continuation and its perplexity on the first
/// 4,097 WikiText-2 test tokens. Every file is read back whole by <see cref="GgufImport"/> (dequantized).
/// </summary>
/// <remarks>
/// Tolerances, from the differences measured (in the comments of <see cref="Cases"/>): F32 files differ only
/// by float32 summation order (ggml's SIMD dot products against libtorch's GEMM), a few 1e-5 on logits of
/// magnitude ≤ 10. In Q8_0 and Q4_K_M files ggml multiplies the quantized weights with activations that it
/// quantizes too (to Q8_0 / Q8_K blocks of 32 / 256 values), while QuantTune multiplies the same dequantized
/// weights with float32 activations: the activation rounding (≤ ½ of 1/127 of a block's largest value) is
/// what separates the two: the gap is about the same in both files (0.09 and 0.12 on logits) while their weight
/// error differs sevenfold (llama.cpp's logits are 0.14 and 0.95 from the float model's), so the bounds are a small
/// multiple of the measured gap, not of the weight error. Gemma's bounds are wider because ggml's CPU GELU reads an
/// fp16 table (GGML_GELU_FP16). tiny-gemma3 is checked with query_pre_attn_scalar = head_dim (the fixture's 24 is
/// refused: llama.cpp's gemma3 always scales attention by 1/√head_dim), as check-gguf.mjs exported it.
/// </remarks>
public sealed class LlamaCppReferenceTests(ITestOutputHelper output) : TempFolderTest("qt-llamacpp-")
{
    /// <summary>Case name, file type, largest |Δ| on logits and log-probabilities, largest relative perplexity gap.</summary>
    public static TheoryData<string, string, double, double> Cases => new()
    {
        // Measured |Δ| (logits, log-probs; relative perplexity gap) in the comments; bounds about twice that.
        { "tiny-llama-f32", "f32", 5e-5, 1e-5 },      // 4.8e-6, 3.7e-6; 1.7e-6
        { "tiny-llama-q8_0", "q8_0", 0.2, 1e-3 },     // 9.3e-2, 3.6e-2; 2.4e-4 (see the remarks)
        { "tiny-llama-q4_k_m", "q4_k_m", 0.25, 1.5e-3 }, // 1.2e-1, 8.1e-2; 4.6e-4; one argmax near tie of 64
        { "tiny-qwen2-f32", "f32", 5e-5, 1e-5 },      // 8.3e-7, 1.2e-6; 9.5e-8
        { "tiny-qwen3-f32", "f32", 5e-5, 1e-5 },      // 1.3e-6, 1.4e-6; 3.1e-7
        // ggml's CPU GELU (GGML_GELU_FP16) looks its input up in an fp16 table: ~1e-3 relative on each GeGLU activation.
        { "tiny-gemma2-f32", "f32", 2e-3, 1e-4 },     // 5.4e-4, 2.4e-4; 2.7e-6
        { "tiny-gemma3-f32", "f32", 2e-3, 1e-4 },     // 5.6e-4, 2.7e-4; 3.3e-6
        // fused attn_qkv / ffn_up, partial NEOX RoPE, LongRoPE's long factors and attention factor (original context 2, see check-gguf.mjs)
        { "tiny-phi3-f32", "f32", 5e-5, 1e-5 },       // 7.5e-6, 1.3e-5; 2.7e-8
        // learned positions, LayerNorms with biases, attn_qkv; GPT-2's GELU goes through the same fp16 table
        { "tiny-gpt2-f32", "f32", 4e-3, 1e-4 },       // 1.6e-3, 8.6e-4; 1.3e-5
        // qwen35: Gated DeltaNet layers (ssm_*, value heads reordered) around gated attention with M-RoPE sections;
        // tiny-qwen3.5-gguf, as tiny-qwen3.5's value heads (24 ≠ key heads 16) are refused (tiny-qwen3.5-f32.json records it)
        { "tiny-qwen3.5-gguf-f32", "f32", 5e-5, 1e-5 },  // 3.2e-6, 4.1e-6; 6.2e-7
        { "tiny-qwen3.5-gguf-q8_0", "q8_0", 0.2, 1e-3 }, // 6.3e-2, 5.8e-2; 4.0e-4
        // olmo2: norms after attention and the MLP, q/k norms over the whole projections; the tied head as output.weight
        { "tiny-olmo2-f32", "f32", 5e-5, 1e-5 },       // 4.1e-6, 4.8e-6; 5.2e-7
        { "tiny-olmo2-q8_0", "q8_0", 0.2, 1e-3 },      // 8.5e-2, 4.4e-2; 2.6e-4; 2 argmax and 1 greedy near ties
        // smollm3: q/k rows permuted, no RoPE in layer 3; tiny-smollm3-gguf, as tiny-smollm3's no-RoPE layer 1 is refused (tiny-smollm3-f32.json records it)
        { "tiny-smollm3-gguf-f32", "f32", 5e-5, 1e-5 }, // 3.3e-6, 4.2e-6; 1.7e-8
        // granite: q/k rows permuted, the embedding, residual and attention scales and the logits divided by logit_scale
        { "tiny-granite-f32", "f32", 5e-5, 1e-5 },     // 5.7e-7, 1.5e-6; 2.8e-8
        { "tiny-granite-q8_0", "q8_0", 0.2, 1e-3 },    // 2.1e-2, 1.8e-2; 2.0e-5; 4 argmax near ties of 64
        // stablelm: LayerNorms with biases, NEOX RoPE on 8 of 32 dimensions, q/k/v biases; the tied head as output.weight
        { "tiny-stablelm-f32", "f32", 5e-5, 1e-5 },    // 3.3e-6, 4.9e-6; 6.6e-7
        // qwen3moe: each layer's router as ffn_gate_inp (F32), its experts stacked into ffn_{gate,up,down}_exps; tiny-qwen3-moe-gguf,
        // as tiny-qwen3-moe's dense layer 1 is refused (tiny-qwen3-moe-f32.json records it)
        { "tiny-qwen3-moe-gguf-f32", "f32", 5e-5, 1e-5 },   // 1.8e-6, 4.4e-6; 6.0e-8
        { "tiny-qwen3-moe-gguf-q8_0", "q8_0", 0.2, 1e-3 }, // 5.5e-2, 3.1e-2; 1.5e-4
        // qwen2moe: as qwen3moe plus the shared expert behind its gate (ffn_*_shexp, ffn_gate_inp_shexp), weights not renormalized,
        // the tied head as output.weight; tiny-qwen2-moe-gguf, as tiny-qwen2-moe's dense layer 1 is refused (tiny-qwen2-moe-f32.json records it)
        { "tiny-qwen2-moe-gguf-f32", "f32", 5e-5, 1e-5 },   // 1.4e-6, 5.9e-6; 3.6e-7
        { "tiny-qwen2-moe-gguf-q8_0", "q8_0", 0.2, 1e-3 }, // 3.8e-2, 2.9e-2; 1.3e-4
        // mixtral as llama: the router as ffn_gate_inp (F32), the experts' w1/w3/w2 stacked into ffn_{gate,up,down}_exps; tiny-mixtral-gguf,
        // as tiny-mixtral's sliding window is refused (tiny-mixtral-f32.json records it)
        { "tiny-mixtral-gguf-f32", "f32", 5e-5, 1e-5 },   // 1.9e-6, 5.5e-6; 2.0e-7
        { "tiny-mixtral-gguf-q8_0", "q8_0", 0.2, 1e-3 }, // 4.9e-2, 1.3e-1; 3.4e-4; 3 argmax and 1 greedy near ties
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void QuantTunesReadingOfItsExportMatchesLlamaCpp(string name, string type, double logitTolerance, double perplexityTolerance)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "llamacpp", name + ".json")));
        var reference = json.RootElement;
        Assert.True(reference.GetProperty("loads").GetBoolean(), $"llama.cpp refused {name}");
        string fixture = Path.Combine(AppContext.BaseDirectory, reference.GetProperty("fixture").GetString()!.Replace("tests/", "", StringComparison.Ordinal));
        string modelDir = Patched(fixture, reference);

        using var pm = PretrainedModel.Load(modelDir);
        var path = Path.Combine(Dir, name + ".gguf");
        GgufExport.Write(pm, path, LlamaFileTypes.Parse(type)!.Value);
        HfTokenizer fileTokenizer;
        using (var file = GgufFile.Open(path))
        {
            Assert.Equal(reference.GetProperty("architecture").GetString(), file.Metadata["general.architecture"].AsString());
            fileTokenizer = GgufTokenizer.Load(file);
        }
        Assert.Equal(reference.GetProperty("n_vocab").GetInt32(), pm.Config.VocabSize);
        Assert.Equal(reference.GetProperty("n_layer").GetInt32(), pm.Config.NumLayers);

        foreach (var t in reference.GetProperty("tokenization").EnumerateArray())
        {
            int[] ids = Ints(t.GetProperty("ids"));
            string text = t.GetProperty("text").GetString()!;
            Assert.Equal(ids, fileTokenizer.Encode(text));
            Assert.Equal(ids, pm.Tokenizer.Encode(text));
        }

        // The file read back whole.
        using CausalLM model = GgufImport.ToCausalLM(GgufImport.Load(path));

        var logits = reference.GetProperty("logits");
        using (var refs = new ReferenceOutputs(fixture))
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var ours = model.Forward(refs.Get("input_ids.0").unsqueeze(0))[0].to(ScalarType.Float32);
            double rowDiff = 0;
            foreach (var row in logits.GetProperty("rows").EnumerateObject())
            {
                int position = int.Parse(row.Name["position_".Length..], System.Globalization.CultureInfo.InvariantCulture);
                float[] expected = row.Value.EnumerateArray().Select(v => v.GetSingle()).ToArray();
                float[] actual = ours[position].data<float>().ToArray();
                rowDiff = Math.Max(rowDiff, expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max());
            }
            long[] input = refs.Get("input_ids.0").data<long>().ToArray();
            float[] logProbs = ours.log_softmax(-1).data<float>().ToArray();
            int vocab = (int)ours.shape[1];
            double[] expectedLp = logits.GetProperty("next_token_logprobs").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            double lpDiff = expectedLp.Select((e, i) => Math.Abs(e - logProbs[i * vocab + input[i + 1]])).Max();
            output.WriteLine($"{name}: logits rows max |Δ| {rowDiff:E2}, next-token log-prob max |Δ| {lpDiff:E2}; llama.cpp vs the fixture's reference logits {logits.GetProperty("max_abs_diff_vs_reference_logits").GetDouble():E2}");
            Assert.InRange(rowDiff, 0, logitTolerance);
            Assert.InRange(lpDiff, 0, logitTolerance);
            float[] flat = ours.data<float>().ToArray();
            int[] llamaArgmax = Ints(logits.GetProperty("argmax_ids"));
            AssertSameChoices(llamaArgmax, Enumerable.Range(0, llamaArgmax.Length).Select(i => flat.AsSpan(i * vocab, vocab).ToArray()).ToList(), logitTolerance, $"{name} argmax");
        }

        var greedy = reference.GetProperty("greedy");
        int[] prompt = Ints(greedy.GetProperty("prompt_ids"));
        int[] llamaGreedy = Ints(greedy.GetProperty("output_ids"));
        Assert.Equal(Ints(greedy.GetProperty("prompt_ids_llamacpp")), prompt);
        if (type == "f32")
        {
            var generated = TextGenerator.Generate(model, prompt, new SamplingOptions { MaxNewTokens = greedy.GetProperty("max_new_tokens").GetInt32(), StopTokens = [] });
            Assert.Equal(llamaGreedy, prompt.Concat(generated).ToArray());
        }
        // On llama.cpp's own continuation, each token it chose is our best or within the tolerance of it.
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var rows = model.Forward(tensor(llamaGreedy[..^1].Select(v => (long)v).ToArray(), [1, llamaGreedy.Length - 1]))[0].to(ScalarType.Float32);
            AssertSameChoices(llamaGreedy[prompt.Length..], Enumerable.Range(prompt.Length - 1, llamaGreedy.Length - prompt.Length).Select(p => rows[p].data<float>().ToArray()).ToList(), logitTolerance, $"{name} greedy");
        }

        var ppl = reference.GetProperty("perplexity");
        int[] pplIds = Ints(ppl.GetProperty("ids"));
        Assert.Equal(pplIds, pm.Tokenizer.Encode(File.ReadAllText(TestData.WikiTestRaw)[..40_000]).Take(pplIds.Length).ToArray());
        var result = PerplexityEvaluator.Evaluate(model, pplIds);
        double expectedPpl = ppl.GetProperty("value").GetDouble();
        output.WriteLine($"{name}: perplexity {result.Perplexity:F5}, llama.cpp {expectedPpl:F5} (relative gap {Math.Abs(result.Perplexity / expectedPpl - 1):E2})");
        Assert.Equal(ppl.GetProperty("predicted_tokens").GetInt64(), result.PredictedTokens);
        Assert.InRange(Math.Abs(result.Perplexity / expectedPpl - 1), 0, perplexityTolerance);
    }

    /// <summary>
    /// llama.cpp's choice at each position is our argmax, or (a near tie that the quantized activations of Q8_0/Q4_K
    /// files can flip) a token whose logit is within <paramref name="tolerance"/> of our best.
    /// </summary>
    void AssertSameChoices(int[] llamaCpp, IReadOnlyList<float[]> ourLogits, double tolerance, string what)
    {
        int differ = 0;
        for (int i = 0; i < llamaCpp.Length; i++)
        {
            float[] row = ourLogits[i];
            int best = Array.IndexOf(row, row.Max());
            if (best == llamaCpp[i]) continue;
            differ++;
            Assert.True(row[best] - row[llamaCpp[i]] <= tolerance, $"{what} at {i}: llama.cpp chose {llamaCpp[i]} (our logit {row[llamaCpp[i]]}), ours {best} ({row[best]})");
        }
        output.WriteLine($"{what}: {llamaCpp.Length - differ} of {llamaCpp.Length} identical, {differ} near ties");
    }

    /// <summary>The fixture, or a copy of it with the reference's <c>config_patch</c> applied (as check-gguf.mjs exported it).</summary>
    string Patched(string fixture, JsonElement reference)
    {
        if (!reference.TryGetProperty("config_patch", out var patch)) return fixture;
        string copy = Path.Combine(Dir, "patched");
        Directory.CreateDirectory(copy);
        foreach (var f in Directory.GetFiles(fixture)) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(copy, "config.json")))!.AsObject();
        foreach (var p in patch.EnumerateObject()) config[p.Name] = System.Text.Json.Nodes.JsonNode.Parse(p.Value.GetRawText());
        File.WriteAllText(Path.Combine(copy, "config.json"), config.ToJsonString());
        return copy;
    }

    static int[] Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();
}
