using QuantTune.IO;
using QuantTune.Models.Config;

namespace QuantTune.Models.Families;

/// <summary>
/// GPT-2 (<c>gpt2</c>, modeling_gpt2.py): LayerNorm with bias before attention and MLP, learned
/// absolute positions added to the token embeddings (wpe, n_positions), queries, keys and values
/// in one projection (c_attn) with biases, a plain MLP (c_fc → gelu_new → c_proj) with biases, all
/// stored as Conv1D (weight [in, out]), the head tied to the embedding; its own module names
/// (<see cref="ModuleNames.Gpt2"/>) and config keys (n_embd, n_head, n_layer, n_positions, n_inner,
/// layer_norm_epsilon, activation_function). No grouped keys, no RoPE.
/// </summary>
public sealed class Gpt2Family : ModelFamily
{
    public override IReadOnlyList<string> ModelTypes => ["gpt2"];
    internal override string ActivationKey => "activation_function";
    internal override string DefaultActivation => "gelu_new";

    /// <summary>GPT2Config's attribute_map, and n_ctx, the older name of n_positions.</summary>
    internal override string KeyOf(JsonField f, string sharedKey) => sharedKey switch
    {
        "hidden_size" => "n_embd",
        "num_attention_heads" => "n_head",
        "num_hidden_layers" => "n_layer",
        "intermediate_size" => "n_inner",
        "max_position_embeddings" => f.Has("n_positions") || !f.Has("n_ctx") ? "n_positions" : "n_ctx",
        "rms_norm_eps" => "layer_norm_epsilon",
        _ => sharedKey,
    };

    internal override int? DefaultIntermediateSize(int hidden) => 4 * hidden;
    internal override bool TiedByDefault => true;
    internal override double DefaultNormEps => 1e-5;
    internal override int DefaultMaxPositions => 1024;

    internal override ModelConfig Read(JsonField f, ModelConfig c)
    {
        if (f.Has("num_key_value_heads") && c.NumKvHeads != c.NumHeads)
            throw f.Invalid("num_key_value_heads", $"is {c.NumKvHeads}; GPT-2 has no grouped keys (expected n_head, {c.NumHeads})");
        if (f.OptionalBool("scale_attn_by_inverse_layer_idx") == true)
            throw f.Invalid("scale_attn_by_inverse_layer_idx", "is true, which QuantTune does not build; expected false (GPT-2's default)");
        if (f.OptionalBool("scale_attn_weights") == false)
            throw f.Invalid("scale_attn_weights", "is false, which QuantTune does not build; expected true (GPT-2's default)");
        return Decoder(c);
    }

    /// <summary>GPT-2's decoder on the shared sizes of <paramref name="c"/> (also what a GGUF <c>gpt2</c> file reads back as).</summary>
    internal static ModelConfig Decoder(ModelConfig c) => c with
    {
        Norm = NormKind.LayerNorm,
        Positions = PositionKind.Learned,
        Mlp = MlpKind.Plain,
        Projections = ProjectionLayout.Fused,
        QkvBias = true,
        OutputBias = true,
        MlpBias = true,
        Names = ModuleNames.Gpt2,
        Conv1DWeights = true,
    };
}
