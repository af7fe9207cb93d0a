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
    public Tensor Forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var states = RunBackbone(ids);
        return RunSide(states).MoveToOuterDisposeScope();
    }

    /// <summary>The backbone's part, with no autograd graph (nothing saved for backward): the embeddings, the fed hidden states and the final normed state, in fp32.</summary>
    public BackboneStates RunBackbone(Tensor ids)
    {
        using var _ = no_grad();
        var stack = backbone.model;
        var embeddings = stack.embed_tokens.forward(ids);
        var (cos, sin) = stack.RopeTables(0, ids.shape[1], embeddings.dtype);
        var fed = new List<Tensor>();
        var h = embeddings;
        for (int i = 0; i < stack.layers.Count; i++)
        {
            h = stack.layers[i].Forward(h, cos, sin, i, 0, null);
            if (_fed.Contains(i)) fed.Add(h.to_type(ScalarType.Float32));
        }
        return new BackboneStates(embeddings.to_type(ScalarType.Float32), fed, stack.norm.forward(h).to_type(ScalarType.Float32));
    }

    /// <summary>The trainable part: the side network over the backbone's states, mixed into the final state, through the frozen LM head.</summary>
    public Tensor RunSide(BackboneStates states)
    {
        using var scope = NewDisposeScope();
        var (sideCos, sideSin) = side.RopeTables(states.Embeddings.shape[1]);
        var s = side.Start(states.Embeddings);
        for (int k = 0; k < states.Fed.Count; k++) s = side.Step(k, s, states.Fed[k], sideCos, sideSin);
        var output = side.Finish(s, states.FinalNormed);
        return backbone.Head(output.to_type(backbone.HeadWeight.dtype)).MoveToOuterDisposeScope();
    }
}

/// <summary>What the frozen backbone hands the side network: fp32 embeddings, the fed layers' hidden states and the final normed state.</summary>
public sealed record BackboneStates(Tensor Embeddings, IReadOnlyList<Tensor> Fed, Tensor FinalNormed);
