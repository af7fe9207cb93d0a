using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Families;

namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>
/// <c>phi3</c>: convert_hf_to_gguf.py's Phi3MiniModel (llama.cpp release v0.5.0, conversion/phi.py: its own
/// set_gguf_parameters, not TextModel's, and generate_extra_tensors): the fused projections as attn_qkv and ffn_up,
/// LongRoPE's factors as two tensors, and what llama.cpp's phi3 graph (src/models/phi3.cpp) cannot represent.
/// </summary>
public sealed class Phi3Architecture : TextModelArchitecture
{
    /// <inheritdoc/>
    public override string Name => "phi3";

    /// <inheritdoc/>
    public override bool Takes(ModelFamily family) => family is Phi3Family;

    /// <summary>Plain RoPE and LongRoPE (its factors as tensors, its attention factor as a key).</summary>
    protected override IReadOnlyList<string> RopeTypes => ["default", "linear", "longrope"];

    /// <summary>
    /// Refuses a config llama.cpp's phi3 would compute differently: its output projection is [hidden, hidden] and
    /// its rotated dimensions come from hidden / heads, so heads × head_dim must be the hidden size.
    /// </summary>
    public override void CheckRepresentable(ModelConfig config, string directory)
    {
        base.CheckRepresentable(config, directory);
        if (config.NumHeads * config.HeadDim != config.HiddenSize)
            throw new InvalidFormatException(Path.Combine(directory, "config.json"), "head_dim",
                $"is {config.HeadDim}; llama.cpp's phi3 takes the head size as hidden_size / num_attention_heads ({config.HiddenSize / config.NumHeads}), so a GGUF would not load or would compute other logits");
    }

    /// <summary>
    /// Context and original context, sizes, head counts, RMS ε, the rotated dimensions
    /// (int(partial_rotary_factor · hidden) / heads), the RoPE base, the window (0 without one, which is how the
    /// converter tells Phi-4 apart), and with LongRoPE its attention factor.
    /// </summary>
    public override IEnumerable<(string Key, GgufValue Value)> Hyperparameters(ModelConfig c)
    {
        yield return (Key("context_length"), GgufValue.Of((uint)c.MaxPositionEmbeddings));
        yield return (Key("rope.scaling.original_context_length"), GgufValue.Of((uint)c.Rope.OriginalMaxPositionEmbeddings));
        yield return (Key("embedding_length"), GgufValue.Of((uint)c.HiddenSize));
        yield return (Key("feed_forward_length"), GgufValue.Of((uint)c.IntermediateSize));
        yield return (Key("block_count"), GgufValue.Of((uint)c.NumLayers));
        yield return (Key("attention.head_count"), GgufValue.Of((uint)c.NumHeads));
        yield return (Key("attention.head_count_kv"), GgufValue.Of((uint)c.NumKvHeads));
        yield return (Key("attention.layer_norm_rms_epsilon"), GgufValue.Of((float)c.RmsNormEps));
        yield return (Key("rope.dimension_count"), GgufValue.Of((uint)((int)(c.PartialRotaryFactor * c.HiddenSize) / c.NumHeads)));
        yield return (Key("rope.freq_base"), GgufValue.Of((float)c.Rope.Theta));
        yield return (Key("attention.sliding_window"), GgufValue.Of((uint)(c.SlidingWindow ?? 0)));
        // The converter computes √(1 + ln s / ln original) itself; the resolved factor is that value unless
        // config.json gives attention_factor, which transformers uses and so must llama.cpp.
        if (c.Rope.Type == "longrope") yield return (Key("rope.scaling.attn_factor"), GgufValue.Of((float)c.Rope.AttentionFactor));
    }

    /// <summary>The converter's names of LongRoPE's factor tensors (gguf-py MODEL_TENSOR.ROPE_FACTORS_LONG / _SHORT).</summary>
    public const string LongFactorsTensor = "rope_factors_long.weight", ShortFactorsTensor = "rope_factors_short.weight";

    /// <summary>LongRoPE's factor lists as the converter's rope_factors_long / rope_factors_short tensors (F32, one entry per rotated pair); none otherwise.</summary>
    public override IEnumerable<(string Name, float[] Values)> ExtraTensors(ModelConfig c)
    {
        if (c.Rope.Type != "longrope") yield break;
        yield return (LongFactorsTensor, c.Rope.LongFactor!.Select(v => (float)v).ToArray());
        yield return (ShortFactorsTensor, c.Rope.ShortFactor!.Select(v => (float)v).ToArray());
    }

    /// <summary>Both factor tensors, which hold config values rather than weights.</summary>
    public override bool IsConfigTensor(string gguf) => gguf is LongFactorsTensor or ShortFactorsTensor;

    /// <summary>Phi-3's head size is hidden / heads (<see cref="CheckRepresentable"/>).</summary>
    protected override int HeadDim(GgufFile file, int hidden, int heads) => hidden / Math.Max(1, heads);

    /// <summary>
    /// TextModel's config with Phi-3's differences as Phi3MiniModel wrote them: fused projections, the rotated share
    /// from rope.dimension_count, the window (0: none), and LongRoPE from the rope_factors tensors with the original
    /// context and attention factor keys.
    /// </summary>
    public override ModelConfig ReadConfig(GgufFile file)
    {
        var c = base.ReadConfig(file);
        int headDim = c.HeadDim;
        int rotary = OptInt(file, Key("rope.dimension_count")) ?? headDim;
        if (rotary <= 0 || rotary > headDim || rotary % 2 != 0)
            throw new InvalidFormatException(file.Path, Key("rope.dimension_count"), $"is {rotary}; expected a positive even number up to the head size {headDim}");
        int original = OptInt(file, Key("rope.scaling.original_context_length")) ?? c.MaxPositionEmbeddings;
        if (original <= 0) throw new InvalidFormatException(file.Path, Key("rope.scaling.original_context_length"), $"is {original}; expected a positive integer");
        var rope = new RopeConfig(c.Rope.Theta, OriginalMaxPositionEmbeddings: original);
        if (file.TensorsByName.Keys.Any(IsConfigTensor))
        {
            double[] Factors(string name)
            {
                if (!file.TensorsByName.TryGetValue(name, out var info) || info.Shape.Length != 1 || info.Shape[0] != rotary / 2)
                    throw new InvalidFormatException(file.Path, name, $"is missing or not of shape [{rotary / 2}] (one factor per rotated pair)");
                return file.ReadTensor(name).Select(v => (double)v).ToArray();
            }
            rope = new RopeConfig(c.Rope.Theta, "longrope", (double)c.MaxPositionEmbeddings / original, OriginalMaxPositionEmbeddings: original)
            {
                LongFactor = Factors(LongFactorsTensor),
                ShortFactor = Factors(ShortFactorsTensor),
                AttentionFactor = file.OptionalNumber(Key("rope.scaling.attn_factor")) ?? 1.0,
            };
        }
        int window = OptInt(file, Key("attention.sliding_window")) ?? 0;
        return c with
        {
            Projections = ProjectionLayout.Fused,
            PartialRotaryFactor = (double)rotary / headDim,
            Rope = rope,
            SlidingWindow = window > 0 ? window : null,
        };
    }
}
