using System.Text.RegularExpressions;
using QuantTune.Diagnostics;
using QuantTune.Models.Config;

namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>
/// What convert_hf_to_gguf.py's Gemma2Model and Gemma3Model share (llama.cpp release v0.5.0, conversion/gemma.py):
/// Gemma's four layer norms named attn_norm, post_attention_norm, ffn_norm (pre_feedforward) and post_ffw_norm; every
/// norm weight written as w + 1, since Gemma's RMSNorm scales by (1 + w) and llama.cpp's by w; and the attention scale
/// llama.cpp takes, 1/√head_dim except for the 27B models, whose layer count it recognises, 1/√(hidden/heads). Read back,
/// a file gets Gemma's decoder (<see cref="NormKind.OffsetOne"/>, <see cref="NormPlacement.Sandwich"/>, GeGLU, the
/// embedding scaled by √hidden, a tied head).
/// </summary>
public abstract partial class GemmaArchitecture : TextModelArchitecture
{
    /// <summary>The layer count llama.cpp takes for the architecture's 27B model (<c>LLM_TYPE_27B</c>).</summary>
    protected abstract int LayersOf27B { get; }

    /// <summary>The query_pre_attn_scalar llama.cpp's graph uses for <paramref name="config"/>: hidden/heads for the 27B, else head_dim.</summary>
    protected double LlamaCppQueryScalar(ModelConfig config) =>
        config.NumLayers == LayersOf27B ? (double)config.HiddenSize / config.NumHeads : config.HeadDim;

    /// <summary>Refuses a query_pre_attn_scalar other than llama.cpp's (<see cref="LlamaCppQueryScalar"/>): no key carries another value.</summary>
    public override void CheckRepresentable(ModelConfig config, string directory)
    {
        base.CheckRepresentable(config, directory);
        double llamaCppScalar = LlamaCppQueryScalar(config);
        if (config.QueryPreAttentionScalar is double q && Math.Abs(q - llamaCppScalar) > 1e-9)
            throw new InvalidFormatException(Path.Combine(directory, "config.json"), "query_pre_attn_scalar",
                $"is {q}; llama.cpp's {Name} scales attention by 1/√{(config.NumLayers == LayersOf27B ? "hidden_size/num_attention_heads" : "head_dim")} ({llamaCppScalar}) and has no key for another value, so a GGUF would compute other logits");
    }

    [GeneratedRegex(@"^model\.layers\.(\d+)\.(post_attention_layernorm|pre_feedforward_layernorm|post_feedforward_layernorm)\.weight$")]
    private static partial Regex HfSandwichNorm();

    [GeneratedRegex(@"^blk\.(\d+)\.(post_attention_norm|ffn_norm|post_ffw_norm)\.weight$")]
    private static partial Regex GgufSandwichNorm();

    static readonly (string Hf, string Gguf)[] SandwichNorms =
    [
        ("post_attention_layernorm", "post_attention_norm"),
        ("pre_feedforward_layernorm", "ffn_norm"),
        ("post_feedforward_layernorm", "post_ffw_norm"),
    ];

    /// <inheritdoc/>
    public override string? TensorName(string hf)
    {
        var m = HfSandwichNorm().Match(hf);
        return m.Success ? $"blk.{m.Groups[1].Value}.{SandwichNorms.First(n => n.Hf == m.Groups[2].Value).Gguf}.weight" : base.TensorName(hf);
    }

    /// <inheritdoc/>
    public override string? HfName(string gguf, ModelConfig config)
    {
        var m = GgufSandwichNorm().Match(gguf);
        return m.Success ? $"model.layers.{m.Groups[1].Value}.{SandwichNorms.First(n => n.Gguf == m.Groups[2].Value).Hf}.weight" : base.HfName(gguf, config);
    }

    /// <summary>Norm weights + 1, as the converter writes them.</summary>
    public override float[] ToGguf(string gguf, long[] shape, float[] values, ModelConfig config) => Offset(gguf, values, 1f);

    /// <summary>
    /// Norm weights − 1. For w ≥ −½ the float32 subtraction is exact (Sterbenz), so the model's 1 + w is the stored
    /// w + 1, the scale the original computed, to the bit.
    /// </summary>
    public override float[] ToHf(string gguf, long[] shape, float[] values, ModelConfig config) => Offset(gguf, values, -1f);

    /// <summary>Not the norm weights, which are stored + 1.</summary>
    public override bool ReadsUnchanged(string gguf, ModelConfig config) => !gguf.EndsWith("norm.weight", StringComparison.Ordinal);

    static float[] Offset(string gguf, float[] values, float offset)
    {
        if (gguf.EndsWith("norm.weight", StringComparison.Ordinal))
            for (int i = 0; i < values.Length; i++) values[i] += offset;
        return values;
    }

    /// <summary>TextModel's config with Gemma's decoder and llama.cpp's attention scale.</summary>
    public override ModelConfig ReadConfig(GgufFile file)
    {
        var c = base.ReadConfig(file);
        return c with
        {
            Norm = NormKind.OffsetOne,
            Placement = NormPlacement.Sandwich,
            ScaleEmbedding = true,
            HiddenAct = "gelu_pytorch_tanh",
            QueryPreAttentionScalar = LlamaCppQueryScalar(c),
        };
    }

    /// <summary>A soft-cap from <paramref name="key"/>; absent or 0 (how the converter writes none) is none.</summary>
    protected static double? Softcap(GgufFile file, string key) => file.OptionalNumber(key) is double cap && cap != 0 ? cap : null;

    /// <summary>The attention window from <paramref name="key"/>; absent or 0 is none.</summary>
    protected static int? Window(GgufFile file, string key) => OptInt(file, key) is int w && w > 0 ? w : null;
}
