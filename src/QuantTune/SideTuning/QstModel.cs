using QuantTune.Models.Transformer;
using static TorchSharp.torch;

namespace QuantTune.SideTuning;

/// <summary>
/// Quantized Side Tuning around a causal LM: the backbone (normally NF4 with double
/// quantization) is frozen and run without autograd, so none of its activations are kept; its
/// per-layer hidden states feed the small <see cref="SideNetwork"/>, whose output, mixed with the
/// backbone's final normed state, goes through the frozen LM head. Gradients reach only the
/// side network.
/// </summary>
public sealed class QstModel : nn.Module
{
    public CausalLM backbone;
    public SideNetwork side;

    public QstConfig Qst { get; }
    readonly IReadOnlyList<int> _fed;

    public QstModel(CausalLM backbone, QstConfig qst, long seed) : base(nameof(QstModel))
    {
        Qst = qst;
        _fed = qst.LayersOf(backbone.Config);
        this.backbone = backbone;
        foreach (var p in backbone.parameters()) p.requires_grad = false;
        side = new SideNetwork(backbone.Config, qst, seed, backbone.Device);
        RegisterComponents();
    }

    /// <summary>Logits [B, T, V] for token ids [B, T].</summary>
    public Tensor Forward(Tensor ids) => Forward(ids, null);

    /// <summary>
    /// Logits [B, T, V] for token ids [B, T]. With <paramref name="cache"/> the ids follow the
    /// positions already in it: the backbone and the side layers attend to their cached keys and
    /// values and append this pass's (incremental decoding; see <see cref="QstDecoding"/>).
    /// </summary>
    public Tensor Forward(Tensor ids, QstCache? cache)
    {
        using var scope = NewDisposeScope();
        var states = RunBackbone(ids, cache?.Backbone);
        return RunSide(states, cache?.Side).MoveToOuterDisposeScope();
    }

    /// <summary>Logits [B, V] of the last of <paramref name="ids"/> [B, T] (the LM head runs on that position only), with <paramref name="cache"/> as in <see cref="Forward(TorchSharp.torch.Tensor, QstCache?)"/>.</summary>
    public Tensor LastLogits(Tensor ids, QstCache cache)
    {
        using var scope = NewDisposeScope();
        var output = SideOutput(RunBackbone(ids, cache.Backbone), cache.Side);
        return Head(output.select(1, -1)).MoveToOuterDisposeScope();
    }

    /// <summary>A cache for <see cref="Forward(TorchSharp.torch.Tensor, QstCache?)"/>: one KV cache for the backbone's layers, one for the side network's.</summary>
    public QstCache NewCache() => new(backbone.Config.NumLayers, side.layers.Count);

    /// <summary>The backbone's part, with no autograd graph (nothing saved for backward): the embeddings, the fed hidden states and the final normed state, in the side network's dtype (no copy when it is the backbone's compute dtype).</summary>
    /// <param name="cache">the backbone's KV cache when <paramref name="ids"/> follow positions already fed, or null</param>
    public BackboneStates RunBackbone(Tensor ids, KvCache? cache = null)
    {
        using var _ = no_grad();
        var stack = backbone.model;
        var dtype = Qst.SideDType;
        long past = cache?.Length ?? 0;
        var embeddings = stack.LayerInput(ids, past);
        var fed = new List<Tensor>();
        var h = embeddings;
        for (int i = 0; i < stack.layers.Count; i++)
        {
            var (cos, sin) = stack.RopeTables(i, past, ids.shape[1], embeddings.dtype);
            h = stack.layers[i].Forward(h, cos, sin, i, past, cache);
            if (_fed.Contains(i)) fed.Add(h.to_type(dtype));
        }
        return new BackboneStates(embeddings.to_type(dtype), fed, stack.norm.forward(h).to_type(dtype));
    }

    /// <summary>The trainable part: the side network over the backbone's states, mixed into the final state, through the frozen LM head.</summary>
    /// <param name="cache">the side layers' KV cache when the states follow positions already fed, or null</param>
    public Tensor RunSide(BackboneStates states, KvCache? cache = null)
    {
        using var scope = NewDisposeScope();
        return Head(SideOutput(states, cache)).MoveToOuterDisposeScope();
    }

    /// <summary>The side network's output mixed into the backbone's final state, [B, T, h] in the side network's dtype, before the LM head. The downsamplers, gates and mix act on each position alone; only the side layers' attention looks back, through <paramref name="cache"/>.</summary>
    Tensor SideOutput(BackboneStates states, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        long past = cache?.Length ?? 0;
        var s = side.Start(states.Embeddings);
        for (int k = 0; k < states.Fed.Count; k++)
        {
            var (sideCos, sideSin) = side.RopeTables(k, past, states.Embeddings.shape[1]);
            s = side.Step(k, s, states.Fed[k], sideCos, sideSin, past, cache);
        }
        return side.Finish(s, states.FinalNormed).MoveToOuterDisposeScope();
    }

    /// <summary>The backbone's LM head on side-network outputs [.., H].</summary>
    public Tensor Head(Tensor output) => backbone.Head(output.to_type(backbone.HeadWeight.dtype));

    /// <summary>The side network's final states [B, T, H] for token ids [B, T], before the LM head (for a loss in chunks).</summary>
    public Tensor Hidden(Tensor ids)
    {
        using var scope = NewDisposeScope();
        return SideOutput(RunBackbone(ids), null).MoveToOuterDisposeScope();
    }
}

/// <summary>What the frozen backbone hands the side network, in the side network's dtype: the embeddings, the fed layers' hidden states and the final normed state.</summary>
public sealed record BackboneStates(Tensor Embeddings, IReadOnlyList<Tensor> Fed, Tensor FinalNormed);
