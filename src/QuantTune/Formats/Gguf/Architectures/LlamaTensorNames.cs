using System.Text.RegularExpressions;
using QuantTune.Models.Config;

namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>
/// Maps Hugging Face Llama (and Qwen3: q_norm, k_norm) parameter names (which are QuantTune's <c>CausalLM</c> parameter names)
/// to llama.cpp's GGUF tensor names and back, as convert_hf_to_gguf.py does.
/// </summary>
public static partial class LlamaTensorNames
{
    static readonly (string Hf, string Gguf)[] LayerParts =
    [
        ("input_layernorm", "attn_norm"),
        ("self_attn.q_proj", "attn_q"),
        ("self_attn.k_proj", "attn_k"),
        ("self_attn.v_proj", "attn_v"),
        ("self_attn.o_proj", "attn_output"),
        ("self_attn.q_norm", "attn_q_norm"),
        ("self_attn.k_norm", "attn_k_norm"),
        ("post_attention_layernorm", "ffn_norm"),
        ("mlp.gate_proj", "ffn_gate"),
        ("mlp.up_proj", "ffn_up"),
        ("mlp.down_proj", "ffn_down"),
    ];

    /// <summary>Phi-3's fused projections: ffn_up holds gate_up_proj there, so GGUF → HF reads it by the layout.</summary>
    static readonly (string Hf, string Gguf)[] FusedParts =
    [
        ("self_attn.qkv_proj", "attn_qkv"),
        ("mlp.gate_up_proj", "ffn_up"),
    ];

    static readonly (string Hf, string Gguf)[] Globals =
    [
        ("model.embed_tokens", "token_embd"),
        ("model.norm", "output_norm"),
        ("lm_head", "output"),
    ];

    [GeneratedRegex(@"^model\.layers\.(\d+)\.(.+)\.(weight|bias)$")]
    private static partial Regex HfLayer();

    [GeneratedRegex(@"^blk\.(\d+)\.(.+)\.(weight|bias)$")]
    private static partial Regex GgufLayer();

    /// <summary>The GGUF name of HF parameter <paramref name="hf"/>, or null if it has none.</summary>
    public static string? ToGguf(string hf) => Translate(hf, HfLayer(), "blk", fromHf: true, LayerParts.Concat(FusedParts));

    /// <summary>The HF parameter name of GGUF tensor <paramref name="gguf"/> in a model of <paramref name="layout"/>, or null if it has none.</summary>
    public static string? ToHf(string gguf, ProjectionLayout layout = ProjectionLayout.Separate) =>
        Translate(gguf, GgufLayer(), "model.layers", fromHf: false,
            layout == ProjectionLayout.Fused ? FusedParts.Concat(LayerParts) : LayerParts.Concat(FusedParts));

    /// <summary>One name through the (HF, GGUF) tables, in the direction <paramref name="fromHf"/> says; the first of <paramref name="parts"/> that matches wins.</summary>
    static string? Translate(string name, Regex layer, string layerPrefix, bool fromHf, IEnumerable<(string Hf, string Gguf)> parts)
    {
        var m = layer.Match(name);
        if (m.Success)
        {
            foreach (var (h, g) in parts)
            {
                var (from, to) = fromHf ? (h, g) : (g, h);
                if (m.Groups[2].Value == from) return $"{layerPrefix}.{m.Groups[1].Value}.{to}.{m.Groups[3].Value}";
            }
            return null;
        }
        foreach (var (h, g) in Globals)
        {
            var (from, to) = fromHf ? (h, g) : (g, h);
            if (name == from + ".weight") return to + ".weight";
            if (name == from + ".bias") return to + ".bias";
        }
        return null;
    }

    /// <summary>The head count to permute a tensor's rows by: heads for attn_q, kv heads for attn_k, else null.</summary>
    public static int? PermuteHeads(string gguf, int heads, int kvHeads) =>
        gguf.EndsWith(".attn_q.weight", StringComparison.Ordinal) || gguf.EndsWith(".attn_q.bias", StringComparison.Ordinal) ? heads
        : gguf.EndsWith(".attn_k.weight", StringComparison.Ordinal) || gguf.EndsWith(".attn_k.bias", StringComparison.Ordinal) ? kvHeads
        : null;
}
