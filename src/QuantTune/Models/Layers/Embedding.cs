using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Models.Layers;

/// <summary>Token embedding table [vocab, hidden]; rows are gathered by id. A subclass may add to the rows (LoRA on the embedding).</summary>
public class Embedding : nn.Module<Tensor, Tensor>
{
    public readonly Parameter weight;

    public Embedding(long vocab, long dim, ScalarType dtype, Device? device = null) : this(new Parameter(empty([vocab, dim], dtype, device))) { }

    /// <summary>An embedding over an existing table (the same Parameter, not a copy).</summary>
    public Embedding(Parameter table) : base(nameof(Embedding))
    {
        weight = table;
        RegisterComponents();
    }

    public override Tensor forward(Tensor ids)
    {
        var shape = ids.shape.Append(weight.shape[1]).ToArray();
        // In a scope even when the caller has none: the flattened ids and the rows stay reachable until the view exists.
        using var scope = NewDisposeScope();
        return weight.index_select(0, ids.reshape(-1)).view(shape).MoveToOuterDisposeScope();
    }
}
