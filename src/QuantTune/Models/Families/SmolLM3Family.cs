using QuantTune.IO;
using QuantTune.Models.Config;

namespace QuantTune.Models.Families;

/// <summary>
/// SmolLM3 (<c>smollm3</c>): Llama's decoder in which some layers use no positions at all
/// (<c>no_rope_layers</c>, one entry per layer, 1 rotating by RoPE and 0 not; by default every
/// <c>no_rope_layer_interval</c>-th layer, 4, has none). A sliding window applies only with
/// use_sliding_window and a sliding_window, on the layers that <c>layer_types</c> marks
/// sliding_attention (by default the no-RoPE ones). attention_bias puts a bias on q, k, v and o,
/// mlp_bias on the MLP; rope_theta 2e6 and a tied head unless config.json says otherwise.
/// </summary>
public sealed class SmolLM3Family : ModelFamily
{
    public override IReadOnlyList<string> ModelTypes => ["smollm3"];
    internal override bool TiedByDefault => true;
    internal override int DefaultMaxPositions => 32768;

    /// <summary>SmolLM3Config's rope_theta when config.json gives none.</summary>
    const double DefaultTheta = 2_000_000.0;

    internal override ModelConfig Read(JsonField f, ModelConfig c)
    {
        bool attentionBias = f.OptionalBool("attention_bias") ?? false;
        bool[] rope = RopeLayers(f, c.NumLayers);
        bool sliding = f.OptionalBool("use_sliding_window") == true && f.OptionalInt("sliding_window") is not null;
        bool thetaless = f.Object("rope_parameters")?.Has("rope_theta") != true && !f.Has("rope_theta");
        return c with
        {
            QkvBias = attentionBias,
            OutputBias = attentionBias,
            MlpBias = f.OptionalBool("mlp_bias") ?? false,
            Rope = thetaless ? c.Rope with { Theta = DefaultTheta } : c.Rope,
            RopeLayers = rope.All(r => r) ? null : rope,
            SlidingWindow = sliding ? f.OptionalInt("sliding_window") : null,
            SlidingLayers = sliding ? SlidingLayers(f, rope) : null,
        };
    }

    /// <summary>no_rope_layers (at least one entry per layer; the first num_hidden_layers count), or every no_rope_layer_interval-th layer without RoPE.</summary>
    static bool[] RopeLayers(JsonField f, int layers)
    {
        if (f.Optional("no_rope_layers") is JsonField list)
        {
            var entries = list.Items().Select(i => i.GetInt32() switch
            {
                0 => false,
                1 => true,
                var other => throw list.Invalid($"holds {other}; expected 1 (the layer uses RoPE) or 0 (it does not)"),
            }).ToArray();
            if (entries.Length < layers) throw f.Invalid("no_rope_layers", $"has {entries.Length} entries; expected one per layer ({layers})");
            return entries[..layers];
        }
        int interval = f.OptionalInt("no_rope_layer_interval") ?? 4;
        if (interval < 1) throw f.Invalid("no_rope_layer_interval", $"is {interval}; expected a positive integer");
        return Enumerable.Range(0, layers).Select(i => (i + 1) % interval != 0).ToArray();
    }

    /// <summary>The layers layer_types marks sliding_attention, or by default those without RoPE.</summary>
    static bool[] SlidingLayers(JsonField f, bool[] rope)
    {
        if (f.Optional("layer_types") is not JsonField types)
            return rope.Select(r => !r).ToArray();
        var kinds = types.Items().Select(t => t.GetString() switch
        {
            "sliding_attention" => true,
            "full_attention" => false,
            var other => throw types.Invalid($"holds '{other}'; expected sliding_attention or full_attention"),
        }).ToArray();
        if (kinds.Length != rope.Length) throw f.Invalid("layer_types", $"has {kinds.Length} entries; expected one per layer ({rope.Length})");
        return kinds;
    }
}
