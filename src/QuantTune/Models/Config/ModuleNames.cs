namespace QuantTune.Models.Config;

/// <summary>
/// The names a family's checkpoint gives the shared decoder's modules: transformers' attribute
/// names, which are also the paths PEFT writes and matches (<c>transformer.h.0.attn.c_attn</c> for
/// GPT-2, <c>model.layers.0.self_attn.q_proj</c> for Llama). The module tree is registered under
/// them, so every name derived from it (checkpoint keys, adapter keys, target modules) is the
/// checkpoint's own.
/// </summary>
public sealed record ModuleNames
{
    public string Stack { get; init; } = "model";
    public string Embedding { get; init; } = "embed_tokens";
    public string Positions { get; init; } = "embed_positions";
    public string Layers { get; init; } = "layers";
    public string FinalNorm { get; init; } = "norm";
    public string Attention { get; init; } = "self_attn";
    public string AttentionNorm { get; init; } = "input_layernorm";
    public string MlpNorm { get; init; } = "post_attention_layernorm";
    public string Mlp { get; init; } = "mlp";
    public string Qkv { get; init; } = "qkv_proj";
    public string Output { get; init; } = "o_proj";
    public string Gate { get; init; } = "gate_proj";
    public string Up { get; init; } = "up_proj";
    public string Down { get; init; } = "down_proj";

    /// <summary>Llama's names, which every family but GPT-2 shares.</summary>
    public static readonly ModuleNames Llama = new();

    /// <summary>GPT2LMHeadModel's: transformer.wte, wpe, h.N.ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj, ln_f.</summary>
    public static readonly ModuleNames Gpt2 = new()
    {
        Stack = "transformer", Embedding = "wte", Positions = "wpe", Layers = "h", FinalNorm = "ln_f",
        Attention = "attn", AttentionNorm = "ln_1", MlpNorm = "ln_2", Qkv = "c_attn", Output = "c_proj", Up = "c_fc", Down = "c_proj",
    };

    /// <summary>The path of layer <paramref name="layer"/> under the model (model.layers.3, transformer.h.3).</summary>
    public string Layer(int layer) => $"{Stack}.{Layers}.{layer}";

    /// <summary>The path of the token embedding (model.embed_tokens, transformer.wte).</summary>
    public string EmbeddingPath => $"{Stack}.{Embedding}";

    /// <summary>The attention's output projection within a layer (self_attn.o_proj, attn.c_proj).</summary>
    public string OutputProjection => $"{Attention}.{Output}";

    /// <summary>The MLP's down projection within a layer (mlp.down_proj, mlp.c_proj).</summary>
    public string DownProjection => $"{Mlp}.{Down}";
}
