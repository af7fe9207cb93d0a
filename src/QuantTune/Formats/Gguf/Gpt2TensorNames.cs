using System.Text.RegularExpressions;

namespace QuantTune.Formats.Gguf;

/// <summary>
/// GPT-2's parameter names (GPT2LMHeadModel's, which are QuantTune's for the family) to llama.cpp's GGUF tensor names, as
/// convert_hf_to_gguf.py's GPT2Model maps them (conversion/gpt2.py and gguf's tensor_mapping.py): the converter transposes
/// the Conv1D weights to a Linear's layout, which is how QuantTune already holds them.
/// </summary>
public static partial class Gpt2TensorNames
{
    /// <summary>The learned position table, kept F32 by the converter and by llama-quantize.</summary>
    public const string PositionEmbedding = "position_embd.weight";

    static readonly Dictionary<string, string> LayerParts = new()
    {
        ["ln_1"] = "attn_norm", ["attn.c_attn"] = "attn_qkv", ["attn.c_proj"] = "attn_output",
        ["ln_2"] = "ffn_norm", ["mlp.c_fc"] = "ffn_up", ["mlp.c_proj"] = "ffn_down",
    };

    static readonly Dictionary<string, string> Globals = new()
    {
        ["transformer.wte"] = "token_embd", ["transformer.wpe"] = "position_embd", ["transformer.ln_f"] = "output_norm", ["lm_head"] = "output",
    };

    [GeneratedRegex(@"^transformer\.h\.(\d+)\.(.+)\.(weight|bias)$")]
    private static partial Regex Layer();

    [GeneratedRegex(@"^(.+)\.(weight|bias)$")]
    private static partial Regex Global();

    /// <summary>The GGUF name of GPT-2 parameter <paramref name="hf"/>, or null if it has none.</summary>
    public static string? ToGguf(string hf)
    {
        var m = Layer().Match(hf);
        if (m.Success) return LayerParts.TryGetValue(m.Groups[2].Value, out var part) ? $"blk.{m.Groups[1].Value}.{part}.{m.Groups[3].Value}" : null;
        var g = Global().Match(hf);
        return g.Success && Globals.TryGetValue(g.Groups[1].Value, out var name) ? $"{name}.{g.Groups[2].Value}" : null;
    }
}
