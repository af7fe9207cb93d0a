using System.Text.RegularExpressions;
using QuantTune.Models.Config;
using QuantTune.Models.Families;

namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>
/// <c>gpt2</c>: convert_hf_to_gguf.py's GPT2Model (conversion/gpt2.py and gguf's tensor_mapping.py): its own keys,
/// GPT2LMHeadModel's parameter names (QuantTune's for the family) mapped to llama.cpp's, with the learned position
/// table as position_embd. The converter transposes the Conv1D weights to a Linear's layout, which is how QuantTune
/// already holds them, so c_attn's fused [q; k; v] rows go to attn_qkv as they are. Read back, a file gets GPT-2's
/// decoder (LayerNorms with biases, learned positions, the plain gelu_new MLP, biases everywhere, GPT-2's module names).
/// </summary>
public sealed partial class Gpt2Architecture : TextModelArchitecture
{
    /// <inheritdoc/>
    public override string Name => "gpt2";

    /// <inheritdoc/>
    public override bool Takes(ModelFamily family) => family is Gpt2Family;

    /// <summary>GPT-2 has no RoPE: the RoPE settings are not written, whatever they are.</summary>
    public override void CheckRepresentable(ModelConfig config, string directory) { }

    /// <summary>GPT2Model.set_gguf_parameters; its feed_forward_length is 4 × n_embd, which is n_inner in every GPT-2 (QuantTune writes n_inner).</summary>
    public override IEnumerable<(string Key, GgufValue Value)> Hyperparameters(ModelConfig config)
    {
        yield return (Key("block_count"), GgufValue.Of((uint)config.NumLayers));
        yield return (Key("context_length"), GgufValue.Of((uint)config.MaxPositionEmbeddings));
        yield return (Key("embedding_length"), GgufValue.Of((uint)config.HiddenSize));
        yield return (Key("feed_forward_length"), GgufValue.Of((uint)config.IntermediateSize));
        yield return (Key("attention.head_count"), GgufValue.Of((uint)config.NumHeads));
        yield return (Key(NormEpsilonKey), GgufValue.Of((float)config.RmsNormEps));
    }

    /// <summary>LayerNorm's ε.</summary>
    protected override string NormEpsilonKey => "attention.layer_norm_epsilon";

    static readonly (string Hf, string Gguf)[] LayerParts =
    [
        ("ln_1", "attn_norm"), ("attn.c_attn", "attn_qkv"), ("attn.c_proj", "attn_output"),
        ("ln_2", "ffn_norm"), ("mlp.c_fc", "ffn_up"), ("mlp.c_proj", "ffn_down"),
    ];

    static readonly (string Hf, string Gguf)[] Globals =
    [
        ("transformer.wte", "token_embd"), ("transformer.wpe", "position_embd"), ("transformer.ln_f", "output_norm"), ("lm_head", "output"),
    ];

    [GeneratedRegex(@"^transformer\.h\.(\d+)\.(.+)\.(weight|bias)$")]
    private static partial Regex HfLayer();

    [GeneratedRegex(@"^blk\.(\d+)\.(.+)\.(weight|bias)$")]
    private static partial Regex GgufLayer();

    [GeneratedRegex(@"^(.+)\.(weight|bias)$")]
    private static partial Regex Global();

    /// <inheritdoc/>
    public override string? TensorName(string hf) => Translate(hf, HfLayer(), "blk", fromHf: true);

    /// <inheritdoc/>
    public override string? HfName(string gguf, ModelConfig config) => Translate(gguf, GgufLayer(), "transformer.h", fromHf: false);

    /// <summary>One name through the (HF, GGUF) tables in the direction <paramref name="fromHf"/> says, or null.</summary>
    static string? Translate(string name, Regex layer, string layerPrefix, bool fromHf)
    {
        string? Find((string Hf, string Gguf)[] table, string from) =>
            table.Where(p => (fromHf ? p.Hf : p.Gguf) == from).Select(p => fromHf ? p.Gguf : p.Hf).FirstOrDefault();
        var m = layer.Match(name);
        if (m.Success) return Find(LayerParts, m.Groups[2].Value) is string part ? $"{layerPrefix}.{m.Groups[1].Value}.{part}.{m.Groups[3].Value}" : null;
        var g = Global().Match(name);
        return g.Success && Find(Globals, g.Groups[1].Value) is string global ? $"{global}.{g.Groups[2].Value}" : null;
    }

    /// <summary>GPT-2's head size is hidden / heads.</summary>
    protected override int HeadDim(GgufFile file, int hidden, int heads) => heads > 0 ? hidden / heads : 0;

    /// <summary>
    /// TextModel's sizes with GPT-2's decoder, as <see cref="Gpt2Family"/> builds it from config.json: no grouped keys, no
    /// RoPE, the context as the position table's length.
    /// </summary>
    public override ModelConfig ReadConfig(GgufFile file) => Gpt2Family.Decoder(base.ReadConfig(file)) with { HiddenAct = "gelu_new" };
}
