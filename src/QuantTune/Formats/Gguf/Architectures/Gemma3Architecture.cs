using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Families;

namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>
/// <c>gemma3</c>: convert_hf_to_gguf.py's Gemma3Model (llama.cpp release v0.5.0: conversion/gemma.py,
/// conversion/base.py, src/models/gemma3.cpp): TextModel's keys and RoPE, then the sliding layers' RoPE base, the final
/// soft-cap, the window and the layer kinds; q/k norms as attn_q_norm and attn_k_norm (+ 1 like every Gemma norm, see
/// <see cref="GemmaArchitecture"/>); and what llama.cpp's gemma3 graph cannot represent.
/// </summary>
public sealed class Gemma3Architecture : GemmaArchitecture
{
    /// <inheritdoc/>
    public override string Name => "gemma3";

    /// <summary>Gemma 3's text model, which is what QuantTune loads (gemma3 is the multimodal checkpoint).</summary>
    public override string ModelType => "gemma3_text";

    /// <inheritdoc/>
    public override bool Takes(ModelFamily family) => family is Gemma3Family;

    /// <summary>Gemma 3 27B's 62 layers.</summary>
    protected override int LayersOf27B => 62;

    /// <summary>
    /// Refuses a config whose computation llama.cpp's gemma3 graph would change: beyond the attention scale
    /// (<see cref="GemmaArchitecture"/>), it has no attention soft-cap (Gemma 3 has none) and it scales only the global
    /// layers' RoPE.
    /// </summary>
    public override void CheckRepresentable(ModelConfig config, string directory)
    {
        base.CheckRepresentable(config, directory);
        string file = Path.Combine(directory, "config.json");
        if (config.AttentionSoftcap is double s && s != 0)
            throw new InvalidFormatException(file, "attn_logit_softcapping", $"is {s}; llama.cpp's gemma3 has no attention soft-cap (expected null, as Gemma 3 has)");
        if (config.LocalRope is RopeConfig local && local.Type != "default")
            throw new InvalidFormatException(file, "rope_parameters.sliding_attention.rope_type",
                $"is '{local.Type}'; llama.cpp's gemma3 scales only the global layers' RoPE (expected default for the sliding layers)");
    }

    /// <summary>
    /// TextModel's RoPE keys, then the RoPE base of the sliding layers (<c>rope.freq_base_swa</c>, from
    /// rope_parameters.sliding_attention), the final soft-cap where set, the window, and
    /// <c>attention.sliding_window_pattern</c> (one bool per layer, as the converter writes it for Cohere2 and EXAONE 4)
    /// when the layer kinds are not llama.cpp's default for gemma3 (five sliding layers, then a global one): without it
    /// llama.cpp would treat the other layers as sliding.
    /// </summary>
    protected override IEnumerable<(string Key, GgufValue Value)> PositionKeys(ModelConfig config)
    {
        foreach (var kv in base.PositionKeys(config)) yield return kv;
        if (config.LocalRope is RopeConfig local) yield return (Key("rope.freq_base_swa"), GgufValue.Of((float)local.Theta));
        if (config.FinalLogitSoftcap is double cap && cap != 0) yield return (Key("final_logit_softcapping"), GgufValue.Of((float)cap));
        if (config.SlidingWindow is not int window) yield break;
        yield return (Key("attention.sliding_window"), GgufValue.Of((uint)window));
        var sliding = Enumerable.Range(0, config.NumLayers).Select(config.IsSliding).ToArray();
        if (!sliding.SequenceEqual(Enumerable.Range(0, config.NumLayers).Select(LlamaCppDefaultSliding)))
            yield return (Key("attention.sliding_window_pattern"), GgufValue.ArrayOf(GgufValueType.Bool, sliding));
    }

    /// <summary>llama.cpp's default gemma3 layer kinds (<c>load_swa_pattern(ml, 6)</c>): layer i slides unless i % 6 == 5.</summary>
    public static bool LlamaCppDefaultSliding(int layer) => layer % 6 < 5;

    /// <summary>
    /// Gemma's config with q/k norms, the final soft-cap, the window, the layer kinds (the pattern key, else llama.cpp's
    /// default) and the sliding layers' RoPE base (10000 when absent, as llama.cpp takes it).
    /// </summary>
    public override ModelConfig ReadConfig(GgufFile file)
    {
        var c = base.ReadConfig(file);
        string patternKey = Key("attention.sliding_window_pattern");
        bool[] sliding = file.OptionalArray<bool>(patternKey, GgufValueType.Bool)
            ?? Enumerable.Range(0, c.NumLayers).Select(LlamaCppDefaultSliding).ToArray();
        if (sliding.Length != c.NumLayers)
            throw new InvalidFormatException(file.Path, patternKey, $"has {sliding.Length} entries; expected one per layer ({c.NumLayers})");
        return c with
        {
            QkNorm = true,
            FinalLogitSoftcap = Softcap(file, Key("final_logit_softcapping")),
            SlidingWindow = Window(file, Key("attention.sliding_window")),
            SlidingLayers = sliding,
            LocalRope = new RopeConfig(file.OptionalNumber(Key("rope.freq_base_swa")) ?? 10000.0),
        };
    }
}
