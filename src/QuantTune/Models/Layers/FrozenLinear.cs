using QuantTune.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace QuantTune.Models.Layers;

/// <summary>
/// y = x · Wᵀ for a frozen W (the LM head of an adapted or side-tuned model), as a custom autograd
/// function whose backward computes ∂L/∂x = ∂L/∂y · W a block of W's rows at a time, in fp32 where
/// W is bf16 on the CPU. libtorch's CPU GEMM has no fast bf16 path for that product (W untransposed
/// on the right): at a 248K-token vocabulary it took minutes per step where fp32 takes a second.
/// Nothing is computed for W, and nothing weight-sized is saved.
/// </summary>
public sealed class FrozenLinear : autograd.SingleTensorFunction<FrozenLinear>
{
    /// <summary>Rows of W converted at once on the CPU (16 MiB of fp32 at 4M elements).</summary>
    public const long MaxChunkElements = 1L << 22;

    public override string Name => nameof(FrozenLinear);

    /// <summary>The dtype a product of <paramref name="dtype"/> operands is computed in on <paramref name="device"/>: fp32 for bf16 on the CPU.</summary>
    public static ScalarType ComputeType(ScalarType dtype, DeviceType device) =>
        dtype == ScalarType.BFloat16 && device == DeviceType.CPU ? ScalarType.Float32 : dtype;

    /// <summary>Whether <see cref="Apply"/> is needed: a frozen bf16 weight on the CPU while gradients are recorded.</summary>
    public static bool Helps(Tensor x, Tensor weight) =>
        !weight.requires_grad && weight.dtype == ScalarType.BFloat16 && weight.device_type == DeviceType.CPU && x.requires_grad && is_grad_enabled();

    public static Tensor Apply(Tensor x, Tensor weight) => apply(x, weight);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var weight = (Tensor)vars[1];
        ctx.save_for_backward([weight]);
        ctx.save_data("dtype", x.dtype);
        using var _ = no_grad();
        return nn.functional.linear(x, weight);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var weight = ctx.get_saved_variables()[0];
        var dtype = (ScalarType)ctx.get_data("dtype");
        long rows = weight.shape[0], step = Math.Max(1, MaxChunkElements / weight.shape[1]);
        var blocks = Enumerable.Range(0, (int)((rows + step - 1) / step)).Select(i => (i * step, Math.Min(step, rows - i * step)));
        var gradInput = InputGradient(gradOutput, blocks, (start, count, type) => weight.narrow(0, start, count).to_type(type),
            ComputeType(weight.dtype, weight.device_type), dtype);
        return [gradInput, null!];
    }

    /// <summary>
    /// ∂L/∂x = ∂L/∂y · W of a frozen W whose row blocks <paramref name="rowsOf"/> gives (start, count, dtype) one at a
    /// time: each block's product in <paramref name="compute"/>, summed, then cast to <paramref name="dtype"/>. Only one
    /// block of W is alive at once.
    /// </summary>
    public static Tensor InputGradient(Tensor gradOutput, IEnumerable<(long Start, long Count)> blocks, Func<long, long, ScalarType, Tensor> rowsOf,
        ScalarType compute, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        Tensor? gradInput = null;
        foreach (var (start, count) in blocks)
        {
            using var blockScope = NewDisposeScope();
            var part = matmul(gradOutput.narrow(-1, start, count).to_type(compute), rowsOf(start, count, compute));
            if (gradInput is null) gradInput = part.MoveToOuterDisposeScope();
            else gradInput.PlusInPlace(part);
        }
        return gradInput!.to_type(dtype).MoveToOuterDisposeScope();
    }
}
