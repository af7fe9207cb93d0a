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
        var stack = backbone.model;
        long t = ids.shape[1];
        var fedStates = new List<Tensor>();
        Tensor embeddings, finalNormed;
        using (no_grad())
        {
            // The backbone: no autograd graph, nothing saved for backward.
            embeddings = stack.embed_tokens.forward(ids);
            var (cos, sin) = stack.RopeTables(0, t, embeddings.dtype);
            var h = embeddings;
            for (int i = 0; i < stack.layers.Count; i++)
            {
                h = stack.layers[i].Forward(h, cos, sin, i, 0, null);
                if (_fed.Contains(i)) fedStates.Add(h.to_type(ScalarType.Float32));
            }
            finalNormed = stack.norm.forward(h).to_type(ScalarType.Float32);
        }
        var (sideCos, sideSin) = side.RopeTables(t);
        var s = side.Start(embeddings.to_type(ScalarType.Float32));
        for (int k = 0; k < fedStates.Count; k++) s = side.Step(k, s, fedStates[k], sideCos, sideSin);
        var output = side.Finish(s, finalNormed);
        return backbone.Head(output.to_type(backbone.HeadWeight.dtype)).MoveToOuterDisposeScope();
    }
}
