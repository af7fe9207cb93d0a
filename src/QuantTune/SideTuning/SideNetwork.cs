using QuantTune.Models.Config;
using QuantTune.Models.Layers;
using QuantTune.Models.Transformer;
using QuantTune.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using QtLinear = QuantTune.Models.Layers.Linear;

namespace QuantTune.SideTuning;

/// <summary>
/// The trainable part of QST: the downsamplers (one per fed layer, the first also serving the
/// embeddings, as the official code has them; see <see cref="DownsamplerLayout"/>), one side
/// decoder layer per fed backbone layer (width h/r), the gates z (init 0.5), the final RMSNorm
/// and up-projection h/r→h (with bias), and the output mix λ ∈ R^h (init 1.0):
/// side ← (1 − σ(z_k))·down_k(h_i) + σ(z_k)·side, then side layer k;
/// out = (1 − σ(λ))·up(RMSNorm(side)) + σ(λ)·norm(h_N).
/// Every weight is initialised in fp32 and then kept in <see cref="QstConfig.SideDType"/>, except
/// the norms' (RMSNorm and the downsamplers' LayerNorm), which stay fp32 and compute in fp32.
/// </summary>
public sealed class SideNetwork : nn.Module
{
    public ModuleList<Downsampler> downsamplers;
    public ModuleList<DecoderLayer> layers;
    public Parameter gates;
    public Parameter mix;
    public nn.Module<Tensor, Tensor> norm;
    public QtLinear up;
    readonly LayerRopes _ropes;
    readonly QstConfig _qst;

    public ModelConfig Config { get; }

    /// <param name="device">where the side network lives (the backbone's device); it is initialised on the CPU, with
    /// <paramref name="seed"/>'s generator, so that the weights do not depend on the device</param>
    public SideNetwork(ModelConfig backbone, QstConfig qst, long seed, Device? device = null) : base(nameof(SideNetwork))
    {
        Config = qst.SideConfig(backbone);
        using var generator = new Generator((ulong)seed);
        int fed = qst.LayersOf(backbone).Count;
        _qst = qst;
        downsamplers = new ModuleList<Downsampler>(Enumerable.Range(0, qst.DownsamplerCount(fed)).Select(_ => new Downsampler(qst, backbone.HiddenSize, generator)).ToArray());
        layers = new ModuleList<DecoderLayer>(Enumerable.Range(0, fed).Select(k => new DecoderLayer(Config, k, ScalarType.Float32, CPU)).ToArray());
        foreach (var l in layers) InitDecoderLayer(l, generator);
        gates = new Parameter(PinnedScalarMath.Full([fed, Config.HiddenSize], qst.GateInit));
        mix = new Parameter(PinnedScalarMath.Full([backbone.HiddenSize], qst.MixInit), requires_grad: !qst.FreezeMix);
        norm = Norms.Create(Config.HiddenSize, backbone.RmsNormEps, ScalarType.Float32, null, backbone.Norm);
        up = new QtLinear(Config.HiddenSize, backbone.HiddenSize, true, ScalarType.Float32);
        up.ResetParameters(generator);
        device ??= CPU;
        _ropes = new LayerRopes(Config, Config.HeadDim, device);
        RegisterComponents();
        if (qst.SideDType != ScalarType.Float32) KeepIn(qst.SideDType);
        if (device.type != DeviceType.CPU) this.to(device);
    }

    /// <summary>
    /// Converts every weight but the norms' to <paramref name="dtype"/> (the official run's bf16 side
    /// network: its norms stay fp32). The norms' weights are still their initial 1s and 0s here, so
    /// the round trip through <paramref name="dtype"/> leaves them exact.
    /// </summary>
    void KeepIn(ScalarType dtype)
    {
        this.to(dtype);
        foreach (var (_, m) in named_modules())
            if (m is RmsNorm or LayerNorm) m.to(ScalarType.Float32);
    }

    static void InitDecoderLayer(DecoderLayer layer, Generator generator)
    {
        foreach (var (_, m) in layer.named_modules())
            if (m is QtLinear l) l.ResetParameters(generator);
    }

    /// <summary>The side input: down_0(embeddings).</summary>
    public Tensor Start(Tensor embeddings) => downsamplers[0].forward(embeddings);

    /// <summary>Mixes backbone hidden state <paramref name="h"/> into the side state and runs side layer <paramref name="k"/>.</summary>
    /// <param name="past">positions already in <paramref name="cache"/> (the side layers' KV cache), 0 without one</param>
    public Tensor Step(int k, Tensor side, Tensor h, Tensor cos, Tensor sin, long past = 0, KvCache? cache = null)
    {
        using var scope = NewDisposeScope();
        var z = gates[k].sigmoid();
        var mixed = (z.SubtractedFrom(1) * downsamplers[_qst.DownsamplerOf(k)].forward(h)).Plus(z * side);
        return layers[k].Forward(mixed, cos, sin, k, past, cache).MoveToOuterDisposeScope();
    }

    /// <summary>(1 − σ(λ))·up(RMSNorm(side)) + σ(λ)·backboneNormed.</summary>
    public Tensor Finish(Tensor side, Tensor backboneNormed)
    {
        using var scope = NewDisposeScope();
        var l = mix.sigmoid();
        return (l.SubtractedFrom(1) * up.forward(norm.forward(side))).Plus(l * backboneNormed).MoveToOuterDisposeScope();
    }

    /// <summary>Side layer <paramref name="k"/>'s RoPE tables for positions start..start+length-1 (its backbone layer's kind: Gemma 3's sliding layers rotate by the local base).</summary>
    public (Tensor Cos, Tensor Sin) RopeTables(int k, long start, long length) => _ropes.For(k, start, length, _qst.SideDType);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _ropes.Dispose();
        }
        base.Dispose(disposing);
    }
}
