using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Models.Layers;

/// <summary>Token embedding table [vocab, hidden]; rows are gathered by id.</summary>
public sealed class Embedding : nn.Module<Tensor, Tensor>
{
    public readonly Parameter weight;

    public Embedding(long vocab, long dim, ScalarType dtype, Device? device = null) : base(nameof(Embedding))
    {
        weight = new Parameter(empty([vocab, dim], dtype, device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor ids)
    {
        var shape = ids.shape.Append(weight.shape[1]).ToArray();
        return weight.index_select(0, ids.reshape(-1)).view(shape);
    }
}
