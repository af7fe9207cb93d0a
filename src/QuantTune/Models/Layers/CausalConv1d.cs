using QuantTune.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Models.Layers;

/// <summary>
/// A depthwise causal convolution over channels [B, C, T] (torch's Conv1d with groups = C, no
/// bias, weight [C, 1, K]): each output position sees its own input and the K − 1 before it. The
/// positions before the first are the history's (the last K − 1 inputs of an earlier
/// call, for decoding), or zeros. Returns the output [B, C, T] and the new history [B, C, K − 1].
/// </summary>
public sealed class CausalConv1d : nn.Module
{
    public readonly Parameter weight;

    public long Channels { get; }
    public long Kernel { get; }

    public CausalConv1d(long channels, long kernel, ScalarType dtype, Device? device = null) : base(nameof(CausalConv1d))
    {
        Channels = channels;
        Kernel = kernel;
        weight = new Parameter(empty([channels, 1, kernel], dtype, device));
        RegisterComponents();
    }

    public (Tensor Output, Tensor History) Forward(Tensor x, Tensor? history)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[2];
        var past = history?.to_type(x.dtype) ?? zeros([b, Channels, Kernel - 1], x.dtype, x.device);
        var padded = cat([past, x], 2);
        // Σ_k w[:, k] · x[:, t + k] as K shifted products in fp32 (what torch's conv1d accumulates in): libtorch's
        // depthwise conv1d has no fast bf16 path on the CPU, where it took minutes per layer at Qwen3.5-0.8B's width.
        var wide = padded.to_type(ScalarType.Float32);
        var taps = weight.to_type(ScalarType.Float32).squeeze(1);   // [C, K]
        Tensor? output = null;
        for (long k = 0; k < Kernel; k++)
        {
            var term = wide.narrow(2, k, t) * taps.narrow(1, k, 1);
            output = output is null ? term : output.Plus(term);
        }
        var next = padded.narrow(2, t, Kernel - 1).detach().contiguous();
        return (output!.to_type(x.dtype).MoveToOuterDisposeScope(), next.MoveToOuterDisposeScope());
    }
}
