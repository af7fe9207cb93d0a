using QuantTune.Diagnostics;
using QuantTune.Models.Config;

namespace QuantTune.Formats.Gguf;

/// <summary>
/// The <c>gemma3.*</c> keys beyond the shared ones, as convert_hf_to_gguf.py's Gemma3Model (and
/// TextModel.set_gguf_parameters's RoPE part) writes them, and what llama.cpp's gemma3 graph cannot
/// represent. Read from llama.cpp release v0.5.0: conversion/gemma.py, conversion/base.py, src/models/gemma3.cpp.
/// </summary>
public static class Gemma3Keys
{
    /// <summary>
    /// The RoPE base of the sliding layers (<c>rope.freq_base_swa</c>, from rope_parameters.sliding_attention), the final
    /// soft-cap where set, the window, and <c>attention.sliding_window_pattern</c> (one bool per layer, as the converter
    /// writes it for Cohere2 and EXAONE 4) when the layer kinds are not llama.cpp's default for gemma3 (five sliding
    /// layers, then a global one): without it llama.cpp would treat the other layers as sliding.
    /// </summary>
    public static IEnumerable<(string Key, GgufValue Value)> Hyperparameters(ModelConfig config)
    {
        if (config.LocalRope is RopeConfig local) yield return ("gemma3.rope.freq_base_swa", GgufValue.Of((float)local.Theta));
        if (config.FinalLogitSoftcap is double cap && cap != 0) yield return ("gemma3.final_logit_softcapping", GgufValue.Of((float)cap));
        if (config.SlidingWindow is not int window) yield break;
        yield return ("gemma3.attention.sliding_window", GgufValue.Of((uint)window));
        var sliding = Enumerable.Range(0, config.NumLayers).Select(config.IsSliding).ToArray();
        if (!sliding.SequenceEqual(Enumerable.Range(0, config.NumLayers).Select(LlamaCppDefaultSliding)))
            yield return ("gemma3.attention.sliding_window_pattern", GgufValue.ArrayOf(GgufValueType.Bool, sliding));
    }

    /// <summary>llama.cpp's default gemma3 layer kinds (<c>load_swa_pattern(ml, 6)</c>): layer i slides unless i % 6 == 5.</summary>
    public static bool LlamaCppDefaultSliding(int layer) => layer % 6 < 5;

    /// <summary>
    /// Refuses a config whose computation llama.cpp's gemma3 graph would change: it scales attention by
    /// 1/√head_dim (1/√(hidden/heads) for the 62-layer 27B), not by query_pre_attn_scalar^-½; it has no
    /// attention soft-cap (Gemma 3 has none); and it scales only the global layers' RoPE.
    /// </summary>
    public static void CheckRepresentable(ModelConfig config, string directory)
    {
        string file = Path.Combine(directory, "config.json");
        double llamaCppScalar = config.NumLayers == 62 ? (double)config.HiddenSize / config.NumHeads : config.HeadDim;
        if (config.QueryPreAttentionScalar is double q && Math.Abs(q - llamaCppScalar) > 1e-9)
            throw new InvalidFormatException(file, "query_pre_attn_scalar",
                $"is {q}; llama.cpp's gemma3 scales attention by 1/√{(config.NumLayers == 62 ? "hidden_size/num_attention_heads" : "head_dim")} ({llamaCppScalar}) and has no key for another value, so a GGUF would compute other logits");
        if (config.AttentionSoftcap is double s && s != 0)
            throw new InvalidFormatException(file, "attn_logit_softcapping", $"is {s}; llama.cpp's gemma3 has no attention soft-cap (expected null, as Gemma 3 has)");
        if (config.LocalRope is RopeConfig local && local.Type != "default")
            throw new InvalidFormatException(file, "rope_parameters.sliding_attention.rope_type",
                $"is '{local.Type}'; llama.cpp's gemma3 scales only the global layers' RoPE (expected default for the sliding layers)");
    }
}
