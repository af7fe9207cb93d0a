using TorchSharp.Modules;
using static TorchSharp.torch;
using QtLinear = QuantTune.Models.Layers.Linear;

namespace QuantTune.SideTuning;

/// <summary>
/// Maps a backbone hidden state [B, T, h] to the side network's width h/r. The default is the
/// official AdapterLinear: Linear(h→16) → swish → Linear(16→h/r) → LayerNorm, both linears
/// Kaiming-uniform initialised and without biases (with biases in the older
/// <see cref="DownsamplerLayout.PerInput"/> layout); the paper's ablations (linear, LoRA, max-pool, avg-pool) are here too.
/// </summary>
public sealed class Downsampler : nn.Module<Tensor, Tensor>
{
    public readonly QtLinear? down, up;
    public readonly LayerNorm? norm;
    readonly DownsamplerKind _kind;
    readonly string _activation;
    readonly int _reduction;

    public Downsampler(QstConfig c, long hidden, Generator generator) : base(nameof(Downsampler))
    {
        _kind = c.Downsampler;
        _activation = c.Activation;
        _reduction = c.Reduction;
        long side = hidden / c.Reduction;
        switch (_kind)
        {
            case DownsamplerKind.Adapter:
                down = Init(new QtLinear(hidden, c.Bottleneck, c.AdapterBias, ScalarType.Float32), generator);
                up = Init(new QtLinear(c.Bottleneck, side, c.AdapterBias, ScalarType.Float32), generator);
                norm = nn.LayerNorm([side]);
                break;
            case DownsamplerKind.Linear:
                down = Init(new QtLinear(hidden, side, true, ScalarType.Float32), generator);
                break;
            case DownsamplerKind.Lora:
                down = Init(new QtLinear(hidden, c.Bottleneck, false, ScalarType.Float32), generator);
                up = Init(new QtLinear(c.Bottleneck, side, false, ScalarType.Float32), generator);
                break;
        }
        RegisterComponents();
    }

    static QtLinear Init(QtLinear l, Generator g)
    {
        l.ResetParameters(g);
        return l;
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor y = _kind switch
        {
            DownsamplerKind.Adapter => Normalize(up!.forward(Activate(down!.forward(x)))),
            DownsamplerKind.Linear => down!.forward(x),
            DownsamplerKind.Lora => up!.forward(down!.forward(x)),
            DownsamplerKind.MaxPool => Groups(x).amax([-1]),
            _ => Groups(x).mean([-1]),
        };
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>The LayerNorm in fp32 (its weights stay fp32 in a bf16 side network), back in the input's dtype.</summary>
    Tensor Normalize(Tensor y) => y.dtype == ScalarType.Float32 ? norm!.forward(y) : norm!.forward(y.to_type(ScalarType.Float32)).to_type(y.dtype);

    /// <summary>[..., h] → [..., h/r, r]: groups of r consecutive features.</summary>
    Tensor Groups(Tensor x) => x.view([.. x.shape[..^1], x.shape[^1] / _reduction, _reduction]);

    Tensor Activate(Tensor x) => _activation switch
    {
        "relu" => nn.functional.relu(x),
        "gelu" => nn.functional.gelu(x),
        "tanh" => x.tanh(),
        _ => nn.functional.silu(x),
    };
}
