using System.Diagnostics;
using QuantTune.Evaluation;
using QuantTune.Generation;
using QuantTune.Models.Loading;
using QuantTune.Qat;
using QuantTune.Training.Pretraining;
using static TorchSharp.torch;

namespace QuantTune.Bench;

/// <summary>
/// CPU inference of BitNet b1.58: single matmuls (libtorch fp32 vs the scalar add/subtract
/// reference vs the SIMD <see cref="TernaryKernel"/>) and whole-model decode speed (fp32 vs
/// <see cref="BitLinear158"/> fake quantization vs <see cref="PackedBitLinear158"/>).
/// </summary>
public static class BitNetInferenceBenchmark
{
    /// <summary>
    /// A tiny BitNet b1.58 pretrained for <paramref name="steps"/> steps then run dense and packed;
    /// the kernels; decode speed.
    /// </summary>
    public static object Run(string tokenizerDir, string data, string heldOut, string scratch, int steps)
    {
        var initial = Path.Combine(scratch, "qt-bitnet-inference-initial");
        var dir = Path.Combine(scratch, "qt-bitnet-inference-b158");
        InitialCheckpoint.Write(initial, ModelSize.Named("tiny"), tokenizerDir, seed: 42);
        object packedPerplexity;
        try
        {
            Console.Error.WriteLine($"bitnet-inference: pretraining a tiny BitNet b1.58 for {steps} steps...");
            var s = BitNetBenchmark.Pretrain(initial, data, dir, "bitnet158", steps);
            packedPerplexity = PackedPerplexity(s.ResultDirectory, heldOut);
        }
        finally
        {
            Directory.Delete(initial, recursive: true);
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
        Console.Error.WriteLine("bitnet-inference: kernels...");
        var kernels = Kernels();
        Console.Error.WriteLine("bitnet-inference: decode speed...");
        return new { pretraining_steps = steps, wiki_test_perplexity = packedPerplexity, kernels, decode = Decode(tokenizerDir, scratch) };
    }

    /// <summary>y = x·Wᵀ for 1 and 8 tokens at Llama-7B layer shapes.</summary>
    static object Kernels()
    {
        var rows = new List<object>();
        foreach (var (outF, inF) in new[] { (4096, 4096), (11008, 4096), (4096, 11008) })
        {
            using var scope = NewDisposeScope();
            manual_seed(1);
            var w = randn(outF, inF);
            var (codes, g) = BitNetWeights.Ternary(w);
            float gamma = g.item<float>();
            var scalarPacked = TernaryPacked.Pack(codes, TernaryPacking.TwoBit);
            var simdPacked = TernaryPacked.Pack(codes, TernaryPacking.TwoBitInterleaved);
            var dense = codes * gamma;
            foreach (int tokens in new[] { 1, 8 })
            {
                using var inner = NewDisposeScope();
                var x = randn(tokens, inF);
                double fp32 = Timing.Median(9, () => x.matmul(dense.t()).Dispose());
                double scalar = Timing.Median(3, () => TernaryMatmul.Apply(x, scalarPacked, gamma).Dispose());
                double simd = Timing.Median(9, () => TernaryKernel.Apply(x, simdPacked, gamma).Dispose());
                rows.Add(new
                {
                    weight = $"{outF}×{inF}", tokens, fp32_matmul_ms = Ms(fp32), scalar_reference_ms = Ms(scalar), simd_kernel_ms = Ms(simd),
                    simd_vs_fp32 = Math.Round(fp32 / simd, 2), simd_vs_scalar = Math.Round(scalar / simd, 1),
                    fp32_weight_bytes = dense.numel() * 4, packed_weight_bytes = simdPacked.StorageBytes,
                });
            }
        }
        return rows;
    }

    /// <summary>
    /// Greedy decode speed (KV cache) of one randomly initialised Llama of 7B-like layer width, in
    /// fp32, as BitLinear158 (fake quantization recomputed every forward) and packed.
    /// </summary>
    static object Decode(string tokenizerDir, string scratch, int newTokens = 32)
    {
        var size = new ModelSize(2048, 2, 16, 5504);
        var dir = Path.Combine(scratch, "qt-bitnet-decode");
        InitialCheckpoint.Write(dir, size, tokenizerDir, seed: 1);
        try
        {
            using var pm = PretrainedModel.Load(dir);
            var prompt = pm.Tokenizer.Encode("The tower is 324 metres tall", true);
            var options = new SamplingOptions { MaxNewTokens = newTokens, StopTokens = [] };
            double TokensPerSecond()
            {
                TextGenerator.Generate(pm.Model, prompt, options with { MaxNewTokens = 2 }).ToList(); // warm-up
                var sw = Stopwatch.StartNew();
                int n = TextGenerator.Generate(pm.Model, prompt, options).Count();
                return Math.Round(n / sw.Elapsed.TotalSeconds, 2);
            }
            using var _ = no_grad();
            double fp32 = TokensPerSecond();
            BitNetConverter.Convert(pm.Model, BitNetKind.BitNet158);
            double fake = TokensPerSecond();
            var packed = QatInference.PackBitLinear158(pm.Model);
            double kernel = TokensPerSecond();
            return new
            {
                size, new_tokens = newTokens, prompt_tokens = prompt.Count, packed_layers = packed.Count,
                fp32_tokens_per_s = fp32, bitlinear158_fake_quant_tokens_per_s = fake, packed_ternary_tokens_per_s = kernel,
            };
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>
    /// Held-out perplexity of a trained BitNet b1.58 checkpoint run densely (fake-quantized 8-bit
    /// activations, as in training) and packed: the two must agree.
    /// </summary>
    static object PackedPerplexity(string checkpoint, string text, int tokens = 16384)
    {
        var result = new Dictionary<string, object>();
        foreach (bool pack in new[] { false, true })
        {
            using var pm = PretrainedModel.Load(checkpoint);
            QatInference.Apply(pm.Model, checkpoint, pack);
            var ids = pm.Tokenizer.Encode(File.ReadAllText(text), false).Take(tokens).ToList();
            var r = PerplexityEvaluator.Evaluate(pm.Model, ids, window: 128);
            result[pack ? "packed" : "dense"] = new { perplexity = Math.Round(r.Perplexity, 4), tokens_per_second = Math.Round(r.TokensPerSecond, 0) };
        }
        return result;
    }

    static double Ms(double seconds) => Math.Round(seconds * 1000, 3);
}
