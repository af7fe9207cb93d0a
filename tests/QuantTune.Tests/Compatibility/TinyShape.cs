using System.Text.Json.Nodes;

namespace QuantTune.Tests.Compatibility;

/// <summary>
/// Cuts a published config.json to a tiny model of the same structure, so random weights for it are small
/// and fast while the loader, the layers and the tokenizer see what the real repository would give them.
/// Rules (applied to the top level and, the same way, to a nested <c>text_config</c>):
/// <list type="number">
/// <item>Depth: <c>num_hidden_layers</c> becomes the shortest prefix of at least 2 layers that shows every value of
/// every per-layer list (an array as long as <c>num_hidden_layers</c>: <c>layer_types</c>, <c>no_rope_layers</c>, ...)
/// and one whole period of <c>sliding_window_pattern</c>, <c>full_attention_interval</c> and
/// <c>decoder_sparse_step</c>; per-layer lists are cut to that prefix, <c>max_window_layers</c> is limited to it and
/// <c>mlp_only_layers</c> keeps the indices inside it.</item>
/// <item>Heads: the ratio of <c>num_attention_heads</c> to <c>num_key_value_heads</c> stays:
/// kv heads = max(1, 4 / ratio), heads = kv heads × ratio.</item>
/// <item>Width: head dimension 16; <c>hidden_size</c> = heads × 16, except where the published <c>head_dim</c> × heads
/// differs from <c>hidden_size</c> (Qwen3-0.6B's 16 × 128 ≠ 1024): then <c>hidden_size</c> 64 and a head dimension
/// that keeps them different. <c>intermediate_size</c> 128, <c>moe_intermediate_size</c> and
/// <c>shared_expert_intermediate_size</c> 32, 4 experts (<c>num_experts</c>, <c>num_local_experts</c>,
/// <c>n_routed_experts</c>), experts per token min(published, 2).</item>
/// <item>Lists per rotary dimension (longrope's <c>short_factor</c>/<c>long_factor</c>) keep their first
/// rotary-dimension / 2 entries; <c>query_pre_attn_scalar</c> equal to the published head dimension follows it.</item>
/// <item>Everything else stays as published: <c>model_type</c>, <c>vocab_size</c>, <c>tie_word_embeddings</c>, the
/// rope settings (<c>rope_theta</c>, <c>rope_scaling</c>, <c>partial_rotary_factor</c>), <c>sliding_window</c>, bias flags,
/// multipliers, soft-caps, token ids, <c>torch_dtype</c> and keys QuantTune does not read.</item>
/// </list>
/// </summary>
public static class TinyShape
{
    public const int HeadDim = 16;
    public const int Intermediate = 128;
    public const int ExpertIntermediate = 32;
    public const int Experts = 4;

    static readonly string[] PeriodKeys = ["sliding_window_pattern", "full_attention_interval", "decoder_sparse_step"];

    /// <summary>A cut copy of <paramref name="config"/> (the argument is not changed).</summary>
    public static JsonObject Cut(JsonObject config)
    {
        var tiny = (JsonObject)config.DeepClone();
        CutLevel(tiny);
        if (tiny["text_config"] is JsonObject text) CutLevel(text);
        return tiny;
    }

    static void CutLevel(JsonObject c)
    {
        if (Int(c, "num_hidden_layers") is int layers) CutDepth(c, layers);
        if (Int(c, "num_attention_heads") is not int heads) return;
        int kv = Int(c, "num_key_value_heads") ?? heads;
        int ratio = Math.Max(1, heads / Math.Max(1, kv));
        int tinyKv = Math.Max(1, 4 / ratio), tinyHeads = tinyKv * ratio;
        int? hidden = Int(c, "hidden_size"), headDim = Int(c, "head_dim");
        int realHeadDim = headDim ?? (hidden is int h ? h / heads : HeadDim);
        bool headDimApart = headDim is int d && hidden is int hs && d * heads != hs;
        int tinyHeadDim = HeadDim, tinyHidden = tinyHeads * HeadDim;
        if (headDimApart)
        {
            tinyHidden = 64;
            if (tinyHeads * tinyHeadDim == tinyHidden) tinyHeadDim *= 2;
        }
        c["num_attention_heads"] = tinyHeads;
        if (c.ContainsKey("num_key_value_heads")) c["num_key_value_heads"] = tinyKv;
        if (c.ContainsKey("hidden_size")) c["hidden_size"] = tinyHidden;
        if (c.ContainsKey("head_dim")) c["head_dim"] = tinyHeadDim;
        Set(c, "intermediate_size", Intermediate);
        Set(c, "moe_intermediate_size", ExpertIntermediate);
        Set(c, "shared_expert_intermediate_size", ExpertIntermediate);
        foreach (var key in new[] { "num_experts", "num_local_experts", "n_routed_experts" }) Set(c, key, Experts);
        foreach (var key in new[] { "num_experts_per_tok", "experts_per_token" })
            if (Int(c, key) is int k) c[key] = Math.Min(k, 2);
        if (Double(c, "query_pre_attn_scalar") is double q && q == realHeadDim) c["query_pre_attn_scalar"] = tinyHeadDim;
        int rotary = (int)(tinyHeadDim * (Double(c, "partial_rotary_factor") ?? 1.0));
        if (c["rope_scaling"] is JsonObject scaling)
            foreach (var key in new[] { "short_factor", "long_factor" })
                if (scaling[key] is JsonArray factors && factors.Count > rotary / 2)
                    scaling[key] = new JsonArray([.. factors.Take(rotary / 2).Select(n => n?.DeepClone())]);
    }

    /// <summary>Rule 1: the shortest prefix (≥ 2 layers) that keeps every layer kind and one period of each pattern.</summary>
    static void CutDepth(JsonObject c, int layers)
    {
        var perLayer = c.Where(p => p.Value is JsonArray a && a.Count == layers).Select(p => p.Key).ToList();
        int depth = Math.Min(2, layers);
        foreach (var key in PeriodKeys)
            if (Int(c, key) is int period && period > 0) depth = Math.Max(depth, Math.Min(period, layers));
        foreach (var key in perLayer)
        {
            var values = ((JsonArray)c[key]!).Select(v => v?.ToJsonString()).ToList();
            int distinct = values.Distinct().Count();
            int need = Enumerable.Range(1, layers).First(n => values.Take(n).Distinct().Count() == distinct);
            depth = Math.Max(depth, need);
        }
        c["num_hidden_layers"] = depth;
        foreach (var key in perLayer)
            c[key] = new JsonArray([.. ((JsonArray)c[key]!).Take(depth).Select(v => v?.DeepClone())]);
        if (Int(c, "max_window_layers") is int window) c["max_window_layers"] = Math.Min(window, depth);
        if (c["mlp_only_layers"] is JsonArray only)
            c["mlp_only_layers"] = new JsonArray([.. only.Where(v => v?.GetValue<int>() < depth).Select(v => v?.DeepClone())]);
    }

    static void Set(JsonObject c, string key, int value)
    {
        if (c.ContainsKey(key) && c[key] is JsonValue) c[key] = value;
    }

    static int? Int(JsonObject c, string key) =>
        c[key] is JsonValue v && v.TryGetValue(out double d) && d == Math.Floor(d) ? (int)d : null;

    static double? Double(JsonObject c, string key) =>
        c[key] is JsonValue v && v.TryGetValue(out double d) ? d : null;
}
