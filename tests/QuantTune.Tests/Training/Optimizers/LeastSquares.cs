using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Tests.Training.Optimizers;

/// <summary>
/// A fixed least-squares problem Y ≈ X·Wᵀ + b for optimizer tests: a weight big enough for
/// 8-bit state (64×128 = 8,192 elements) and a bias small enough to stay 32-bit. Everything is
/// drawn from a private generator so tests running in parallel cannot disturb each other.
/// </summary>
internal sealed class LeastSquares : IDisposable
{
    public const int Out = 64, In = 128, Rows = 256;
    readonly Tensor _x, _y, _w0, _b0;

    public LeastSquares(ulong seed = 1234)
    {
        using var gen = new Generator(seed);
        _x = randn([Rows, In], generator: gen);
        using var wTrue = randn([Out, In], generator: gen) * 0.5;
        using var noise = randn([Rows, Out], generator: gen) * 0.1;
        _y = _x.matmul(wTrue.t()) + noise;
        _w0 = randn([Out, In], generator: gen) * 0.1;
        _b0 = randn([Out], generator: gen) * 0.1;
    }

    /// <summary>A fresh copy of the starting point, named as a trainer would name it.</summary>
    public List<(string Name, Parameter Param)> NewParameters() =>
        [("layer.weight", new Parameter(_w0.clone())), ("layer.bias", new Parameter(_b0.clone()))];

    /// <summary>Mean squared error; with <paramref name="backward"/>, grads are accumulated into the parameters.</summary>
    public double Loss(IReadOnlyList<(string Name, Parameter Param)> p, bool backward)
    {
        using var scope = NewDisposeScope();
        using var mode = backward ? enable_grad() : no_grad();
        var loss = (_x.matmul(p[0].Param.t()) + p[1].Param - _y).pow(2).mean();
        if (backward) loss.backward();
        return loss.item<float>();
    }

    public void Dispose()
    {
        _x.Dispose(); _y.Dispose(); _w0.Dispose(); _b0.Dispose();
    }

    public static void DisposeAll(IEnumerable<(string Name, Parameter Param)> parameters)
    {
        foreach (var (_, p) in parameters) p.Dispose();
    }

    /// <summary>Same dtype, shape and bytes (so −0 and 0, or two NaN payloads, count as different).</summary>
    public static bool BitIdentical(Tensor a, Tensor b)
    {
        if (a.dtype != b.dtype || !a.shape.SequenceEqual(b.shape)) return false;
        using var ca = a.detach().cpu().contiguous();
        using var cb = b.detach().cpu().contiguous();
        return ca.bytes.SequenceEqual(cb.bytes);
    }
}
