using System.Text.RegularExpressions;
using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Families;

namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>
/// <c>olmo2</c>: convert_hf_to_gguf.py's Olmo2Model (llama.cpp release v0.5.0, conversion/olmo.py; graph in
/// src/models/olmo2.cpp): TextModel's keys, rows not permuted (llama.cpp's olmo2 rotates halves, as Hugging Face stores
/// them); the norms after attention and after the MLP as post_attention_norm and post_ffw_norm (gguf-py's
/// ATTN_POST_NORM, FFN_POST_NORM; there is no norm before either), and the q/k norms as attn_q_norm [heads·head_dim]
/// and attn_k_norm [kv_heads·head_dim], which llama.cpp applies to the whole projections before splitting them into
/// heads. llama.cpp's olmo2 requires output.weight, so a tied head is written as one (<see cref="WritesTiedHead"/>).
/// </summary>
public sealed partial class Olmo2Architecture : TextModelArchitecture
{
    /// <inheritdoc/>
    public override string Name => "olmo2";

    /// <inheritdoc/>
    public override bool Takes(ModelFamily family) => family is Olmo2Family;

    /// <summary>
    /// Refuses what llama.cpp's olmo2 cannot hold: an output-projection bias (attention_bias puts one on o_proj, and
    /// the loader has no attn_output.bias: the file would not load), and a head size other than hidden / heads
    /// (its q_norm and output projection are [hidden] wide).
    /// </summary>
    public override void CheckRepresentable(ModelConfig config, string directory)
    {
        base.CheckRepresentable(config, directory);
        string file = Path.Combine(directory, "config.json");
        if (config.QkvBias || config.OutputBias)
            throw new InvalidFormatException(file, "attention_bias", "is true; llama.cpp's olmo2 has no attention output bias, so a GGUF would not load (expected false, as OLMo 2 has)");
        if (config.NumHeads * config.HeadDim != config.HiddenSize)
            throw new InvalidFormatException(file, "head_dim",
                $"is {config.HeadDim}; llama.cpp's olmo2 sizes its q norm and output projection by hidden_size ({config.HiddenSize}), so heads × head_dim must equal it (expected {config.HiddenSize / config.NumHeads})");
    }

    /// <summary>Olmo2Config has no head_dim, so the converter writes no key/value length (llama.cpp takes hidden / heads).</summary>
    protected override bool WritesHeadLength(ModelConfig config) => false;

    /// <inheritdoc/>
    public override bool WritesTiedHead => true;

    static readonly (string Hf, string Gguf)[] PostNorms =
    [
        ("post_attention_layernorm", "post_attention_norm"),
        ("post_feedforward_layernorm", "post_ffw_norm"),
    ];

    [GeneratedRegex(@"^model\.layers\.(\d+)\.(post_attention_layernorm|post_feedforward_layernorm)\.weight$")]
    private static partial Regex HfPostNorm();

    [GeneratedRegex(@"^blk\.(\d+)\.(post_attention_norm|post_ffw_norm|attn_norm|ffn_norm)\.weight$")]
    private static partial Regex GgufLayerNorm();

    /// <inheritdoc/>
    public override string? TensorName(string hf)
    {
        var m = HfPostNorm().Match(hf);
        return m.Success ? $"blk.{m.Groups[1].Value}.{PostNorms.First(n => n.Hf == m.Groups[2].Value).Gguf}.weight" : base.TensorName(hf);
    }

    /// <summary>The post norms back to their HF names; llama's attn_norm and ffn_norm are no olmo2 tensors.</summary>
    public override string? HfName(string gguf, ModelConfig config)
    {
        var m = GgufLayerNorm().Match(gguf);
        if (!m.Success) return base.HfName(gguf, config);
        return PostNorms.Where(n => n.Gguf == m.Groups[2].Value).Select(n => $"model.layers.{m.Groups[1].Value}.{n.Hf}.weight").FirstOrDefault();
    }

    /// <summary>TextModel's config with OLMo 2's decoder: norms after each block, q/k norms over the whole projections.</summary>
    public override ModelConfig ReadConfig(GgufFile file) => base.ReadConfig(file) with
    {
        Placement = NormPlacement.Post,
        QkNorm = true,
        QkNormOver = QkNormScope.Projection,
    };
}
