using QuantTune.Models.Config;
using QuantTune.Models.Layers;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// A decoder-only language model of any supported family (Models/Families): the decoder stack
/// and the LM head (tied to the embedding when the config says so; Gemma 2 soft-caps its logits). Parameter names equal the Hugging Face
/// checkpoint keys, e.g. <c>model.layers.0.self_attn.q_proj.weight</c>.
/// </summary>
public sealed class CausalLM : nn.Module
{
    public DecoderStack model;
    public Linear? lm_head;

    public ModelConfig Config { get; }
    public ScalarType DType { get; }
    public Device Device { get; }

    public CausalLM(ModelConfig config, ScalarType dtype, Device device) : base(nameof(CausalLM))
    {
        Config = config;
        DType = dtype;
        Device = device;
        model = new DecoderStack(config, dtype, device);
        if (!config.TieWordEmbeddings) lm_head = new Linear(config.HiddenSize, config.VocabSize, false, dtype, device);
        RegisterComponents();
        ModuleNaming.Rename(this, (nameof(model), config.Names.Stack));
    }

    /// <summary>The LM head's weight: its own, or the embedding table when tied.</summary>
    public Tensor HeadWeight => lm_head?.weight ?? model.embed_tokens.weight;

    /// <summary>
    /// For inference only: a layer that computes the head's x · Wᵀ in place of <see cref="HeadWeight"/> (the same weight kept
    /// quantized, a <see cref="Quantization.Layers.GgufLinear"/> on a GGUF file's blocks); owned and disposed by this model.
    /// </summary>
    public nn.Module<Tensor, Tensor>? HeadOnBlocks { get; set; }

    /// <summary>Logits [B, T, vocab] for token ids [B, T].</summary>
    public Tensor Forward(Tensor ids, KvCache? cache = null, List<Tensor>? hiddenStates = null)
    {
        using var scope = NewDisposeScope();
        var h = model.Forward(ids, cache, hiddenStates);
        return Head(h).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Applies the LM head to (normed) hidden states, then the family's logits scaling, logits ÷ s (Granite), and final
    /// soft-cap, cap·tanh(logits/cap) (Gemma 2), where it has them. Generation, perplexity and the chunked loss all come through here.
    /// </summary>
    public Tensor Head(Tensor hidden)
    {
        double? scaling = Config.LogitsScaling is double s && s != 1 ? s : null;
        if (Config.FinalLogitSoftcap is not double cap && scaling is null) return HeadLinear(hidden);
        using var scope = NewDisposeScope();
        var logits = HeadLinear(hidden);
        if (scaling is double divisor) logits = logits.DividedBy(divisor);
        if (Config.FinalLogitSoftcap is double c) logits = logits.DividedBy(c).tanh().Times(c);
        return logits.MoveToOuterDisposeScope();
    }

    Tensor HeadLinear(Tensor hidden) => HeadOnBlocks?.forward(hidden)
        ?? (FrozenLinear.Helps(hidden, HeadWeight) ? FrozenLinear.Apply(hidden, HeadWeight) : nn.functional.linear(hidden, HeadWeight));

    protected override void Dispose(bool disposing)
    {
        if (disposing) HeadOnBlocks?.Dispose();
        base.Dispose(disposing);
    }

    public long ParameterCount() => parameters().Sum(p => p.numel());
}
