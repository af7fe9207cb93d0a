using QuantTune.Models.Layers;
using QuantTune.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Layers;

/// <summary>
/// y = x · Wᵀ for a quantized W, as a custom autograd function. Forward dequantizes W a chunk of
/// rows at a time; backward computes ∂L/∂x = ∂L/∂y · W by dequantizing the same chunks again.
/// Nothing weight-sized is saved for backward (only a reference to the packed weight), and no
/// gradient is computed for W: it is frozen.
/// </summary>
public sealed class DequantizingMatmul : autograd.SingleTensorFunction<DequantizingMatmul>
{
    /// <summary>Rows dequantized at once on the CPU: bounds the transient dequantized memory (16 MiB of fp32 at 4M elements).</summary>
    public const long MaxChunkElements = 1L << 22;

    /// <summary>
    /// On a GPU, where every chunk costs about ten kernel launches, a whole 7B-sized weight (up to
    /// 64M elements, 128 MiB in bf16) is dequantized at once.
    /// </summary>
    public const long MaxChunkElementsGpu = 1L << 26;

    public override string Name => nameof(DequantizingMatmul);

    public static Tensor Apply(Tensor x, QuantizedTensor weight) => apply(x, weight);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var weight = (QuantizedTensor)vars[1];
        ctx.save_data("weight", weight);
        ctx.save_data("dtype", x.dtype);
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var outputs = new List<Tensor>();
        foreach (var (start, count) in Chunks(weight))
        {
            // Each dequantized chunk is freed before the next is made: one chunk alive at a time.
            using var chunkScope = NewDisposeScope();
            outputs.Add(matmul(x, weight.DequantizeRows(start, count, x.dtype).t()).MoveToOuterDisposeScope());
        }
        return (outputs.Count == 1 ? outputs[0] : cat(outputs, -1)).MoveToOuterDisposeScope();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var weight = (QuantizedTensor)ctx.get_data("weight");
        var dtype = (ScalarType)ctx.get_data("dtype");
        var gradInput = FrozenLinear.InputGradient(gradOutput, Chunks(weight), weight.DequantizeRows,
            FrozenLinear.ComputeType(dtype, gradOutput.device_type), dtype);
        // One entry per argument of Apply: the input's gradient, none for the (frozen) weight.
        return [gradInput, null!];
    }

    /// <summary>Row ranges of at most <see cref="MaxChunkElements"/> elements each (<see cref="MaxChunkElementsGpu"/> off the CPU).</summary>
    public static IEnumerable<(long Start, long Count)> Chunks(QuantizedTensor weight)
    {
        long rows = weight.Shape[0], columns = weight.ElementCount / rows;
        long limit = weight.Tensors.Values.First().device_type == DeviceType.CPU ? MaxChunkElements : MaxChunkElementsGpu;
        long step = Math.Max(1, limit / columns);
        for (long r = 0; r < rows; r += step) yield return (r, Math.Min(step, rows - r));
    }
}
