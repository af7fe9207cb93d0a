using QuantTune.Models.Config;
using QuantTune.Models.Families;

namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>
/// <c>gemma2</c>: convert_hf_to_gguf.py's Gemma2Model: TextModel's sizes, then the attention and final soft-caps and the
/// window in place of RoPE keys (llama.cpp's gemma2 has the RoPE base 10000 and alternates sliding and global layers,
/// the first sliding); lm_head is not written (the head is tied). Gemma's norms and scale: <see cref="GemmaArchitecture"/>.
/// </summary>
public sealed class Gemma2Architecture : GemmaArchitecture
{
    /// <inheritdoc/>
    public override string Name => "gemma2";

    /// <inheritdoc/>
    public override bool Takes(ModelFamily family) => family is Gemma2Family;

    /// <summary>Gemma 2 27B's 46 layers.</summary>
    protected override int LayersOf27B => 46;

    /// <summary>Gemma2Model.set_gguf_parameters: the soft-caps and the window, no RoPE base.</summary>
    protected override IEnumerable<(string Key, GgufValue Value)> PositionKeys(ModelConfig config)
    {
        yield return (Key("attn_logit_softcapping"), GgufValue.Of((float)(config.AttentionSoftcap ?? 0)));
        yield return (Key("final_logit_softcapping"), GgufValue.Of((float)(config.FinalLogitSoftcap ?? 0)));
        yield return (Key("attention.sliding_window"), GgufValue.Of((uint)(config.SlidingWindow ?? 0)));
    }

    /// <summary>The converter skips lm_head: Gemma 2 ties it to the embedding.</summary>
    public override bool Writes(string hf) => hf != "lm_head.weight";

    /// <summary>Gemma's config with the soft-caps, the window and llama.cpp's layer kinds (<c>set_swa_pattern(2)</c>: even layers slide).</summary>
    public override ModelConfig ReadConfig(GgufFile file)
    {
        var c = base.ReadConfig(file);
        return c with
        {
            TieWordEmbeddings = true,
            AttentionSoftcap = Softcap(file, Key("attn_logit_softcapping")),
            FinalLogitSoftcap = Softcap(file, Key("final_logit_softcapping")),
            SlidingWindow = Window(file, Key("attention.sliding_window")),
            SlidingLayers = Enumerable.Range(0, c.NumLayers).Select(i => i % 2 == 0).ToArray(),
        };
    }
}
