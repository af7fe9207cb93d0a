using QuantTune.Diagnostics;
using QuantTune.Models.Config;

namespace QuantTune.Formats.Gguf;

/// <summary>
/// The <c>phi3.*</c> keys and extra tensors as convert_hf_to_gguf.py's Phi3MiniModel writes them (llama.cpp
/// release v0.5.0, conversion/phi.py: its own set_gguf_parameters, not TextModel's, and generate_extra_tensors),
/// and what llama.cpp's phi3 graph (src/models/phi3.cpp) cannot represent.
/// </summary>
public static class Phi3Keys
{
    /// <summary>
    /// Context and original context, sizes, head counts, RMS ε, the rotated dimensions
    /// (int(partial_rotary_factor · hidden) / heads), the RoPE base, the window (0 without one, which is how the
    /// converter tells Phi-4 apart), and with LongRoPE its attention factor.
    /// </summary>
    public static IEnumerable<(string Key, GgufValue Value)> Hyperparameters(ModelConfig c)
    {
        yield return ("phi3.context_length", GgufValue.Of((uint)c.MaxPositionEmbeddings));
        yield return ("phi3.rope.scaling.original_context_length", GgufValue.Of((uint)c.Rope.OriginalMaxPositionEmbeddings));
        yield return ("phi3.embedding_length", GgufValue.Of((uint)c.HiddenSize));
        yield return ("phi3.feed_forward_length", GgufValue.Of((uint)c.IntermediateSize));
        yield return ("phi3.block_count", GgufValue.Of((uint)c.NumLayers));
        yield return ("phi3.attention.head_count", GgufValue.Of((uint)c.NumHeads));
        yield return ("phi3.attention.head_count_kv", GgufValue.Of((uint)c.NumKvHeads));
        yield return ("phi3.attention.layer_norm_rms_epsilon", GgufValue.Of((float)c.RmsNormEps));
        yield return ("phi3.rope.dimension_count", GgufValue.Of((uint)((int)(c.PartialRotaryFactor * c.HiddenSize) / c.NumHeads)));
        yield return ("phi3.rope.freq_base", GgufValue.Of((float)c.Rope.Theta));
        yield return ("phi3.attention.sliding_window", GgufValue.Of((uint)(c.SlidingWindow ?? 0)));
        // The converter computes √(1 + ln s / ln original) itself; the resolved factor is that value unless
        // config.json gives attention_factor, which transformers uses and so must llama.cpp.
        if (c.Rope.Type == "longrope") yield return ("phi3.rope.scaling.attn_factor", GgufValue.Of((float)c.Rope.AttentionFactor));
    }

    /// <summary>The converter's names of LongRoPE's factor tensors (gguf-py MODEL_TENSOR.ROPE_FACTORS_LONG / _SHORT).</summary>
    public const string LongFactorsTensor = "rope_factors_long.weight", ShortFactorsTensor = "rope_factors_short.weight";

    /// <summary>Both factor tensors, which hold config values rather than weights.</summary>
    public static readonly IReadOnlyList<string> RopeFactorTensors = [LongFactorsTensor, ShortFactorsTensor];

    /// <summary>LongRoPE's factor lists as the converter's rope_factors_long / rope_factors_short tensors (F32, one entry per rotated pair); none otherwise.</summary>
    public static IEnumerable<(string Name, float[] Values)> ExtraTensors(ModelConfig c)
    {
        if (c.Rope.Type != "longrope") yield break;
        yield return (LongFactorsTensor, c.Rope.LongFactor!.Select(v => (float)v).ToArray());
        yield return (ShortFactorsTensor, c.Rope.ShortFactor!.Select(v => (float)v).ToArray());
    }

    /// <summary>
    /// Refuses a config llama.cpp's phi3 would compute differently: its output projection is [hidden, hidden] and
    /// its rotated dimensions come from hidden / heads, so heads × head_dim must be the hidden size.
    /// </summary>
    public static void CheckRepresentable(ModelConfig c, string directory)
    {
        if (c.NumHeads * c.HeadDim != c.HiddenSize)
            throw new InvalidFormatException(Path.Combine(directory, "config.json"), "head_dim",
                $"is {c.HeadDim}; llama.cpp's phi3 takes the head size as hidden_size / num_attention_heads ({c.HiddenSize / c.NumHeads}), so a GGUF would not load or would compute other logits");
    }
}
