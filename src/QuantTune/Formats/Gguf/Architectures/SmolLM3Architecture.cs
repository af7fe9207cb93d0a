using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Families;

namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>
/// <c>smollm3</c>: convert_hf_to_gguf.py's SmolLM3Model (llama.cpp release v0.5.0, conversion/llama.py), which is
/// LlamaModel under another name: Llama's keys and its q/k row permutation. The converter writes no key for the layers
/// without RoPE: llama.cpp's smollm3 (src/models/smollm3.cpp) fixes them as every fourth layer
/// (<c>n_no_rope_layer_step = 4</c>: layer i rotates unless (i + 1) % 4 == 0), which is SmolLM3-3B's no_rope_layers.
/// </summary>
public sealed class SmolLM3Architecture : LlamaArchitecture
{
    /// <inheritdoc/>
    public override string Name => "smollm3";

    /// <inheritdoc/>
    public override bool Takes(ModelFamily family) => family is SmolLM3Family;

    /// <summary>llama.cpp's smollm3 layers: layer <paramref name="layer"/> rotates by RoPE unless it is a fourth one.</summary>
    public static bool LlamaCppUsesRope(int layer) => (layer + 1) % 4 != 0;

    /// <summary>
    /// Refuses what llama.cpp's smollm3 would compute differently or not load: no-RoPE layers other than every fourth
    /// (no key carries another list), a sliding window (its graph has none), and biases (its loader has none on the
    /// attention output or the MLP, which attention_bias and mlp_bias put there).
    /// </summary>
    public override void CheckRepresentable(ModelConfig config, string directory)
    {
        base.CheckRepresentable(config, directory);
        string file = Path.Combine(directory, "config.json");
        if (config.QkvBias || config.OutputBias)
            throw new InvalidFormatException(file, "attention_bias", "is true; llama.cpp's smollm3 has no attention output bias, so a GGUF would not load (expected false)");
        if (config.MlpBias)
            throw new InvalidFormatException(file, "mlp_bias", "is true; llama.cpp's smollm3 has no MLP biases, so a GGUF would not load (expected false)");
        if (config.SlidingWindow is int window)
            throw new InvalidFormatException(file, "use_sliding_window", $"is true (window {window}); llama.cpp's smollm3 has no sliding window, so a GGUF would compute other logits (expected false)");
        var layers = Enumerable.Range(0, config.NumLayers);
        if (layers.Any(l => config.UsesRope(l) != LlamaCppUsesRope(l)))
            throw new InvalidFormatException(file, "no_rope_layers",
                $"leaves RoPE out of layers [{string.Join(", ", layers.Where(l => !config.UsesRope(l)))}]; llama.cpp's smollm3 leaves it out of every fourth layer "
                + $"([{string.Join(", ", layers.Where(l => !LlamaCppUsesRope(l)))}] here) and has no key for another list, so a GGUF would compute other logits");
    }

    /// <summary>Llama's config with llama.cpp's no-RoPE layers (every fourth).</summary>
    public override ModelConfig ReadConfig(GgufFile file)
    {
        var c = base.ReadConfig(file);
        var rope = Enumerable.Range(0, c.NumLayers).Select(LlamaCppUsesRope).ToArray();
        return c with { RopeLayers = rope.All(r => r) ? null : rope };
    }
}
