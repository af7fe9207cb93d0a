using QuantTune.Diagnostics;
using static TorchSharp.torch;

namespace QuantTune.Qat;

/// <summary>
/// y = x·Wᵀ for a ternary W on the CPU with additions and subtractions only, the point of
/// BitNet b1.58: y[b, o] = scale · (Σ_{W[o,i]=+1} x[b,i] − Σ_{W[o,i]=−1} x[b,i]). Each weight row
/// is decoded once into index lists of its +1 and −1 columns; zeros cost nothing. Sums are
/// accumulated in double, and the one multiplication is by the scale, once per output.
/// </summary>
public static class TernaryMatmul
{
    /// <summary>x [..., columns] (any float dtype, CPU or not) → y [..., rows] float32 on the CPU.</summary>
    public static Tensor Apply(Tensor x, TernaryPacked weight, float scale)
    {
        var (input, batch) = Tokens(x, weight, "ternary matmul");
        int columns = (int)weight.Columns, rows = (int)weight.Rows;
        var output = new float[(long)batch * rows];

        var trits = new sbyte[columns];
        var plus = new int[columns];
        var minus = new int[columns];
        for (int o = 0; o < rows; o++)
        {
            weight.Decode((long)o * columns, trits);
            int np = 0, nm = 0;
            for (int i = 0; i < columns; i++)
            {
                if (trits[i] > 0) plus[np++] = i;
                else if (trits[i] < 0) minus[nm++] = i;
            }
            for (int b = 0; b < batch; b++)
            {
                var row = input.AsSpan(b * columns, columns);
                double acc = 0;
                for (int k = 0; k < np; k++) acc += row[plus[k]];
                for (int k = 0; k < nm; k++) acc -= row[minus[k]];
                output[(long)b * rows + o] = (float)(acc * scale);
            }
        }
        return Output(output, x, rows);
    }

    /// <summary>x [..., columns] as float32 rows on the CPU, and how many tokens (rows) it holds.</summary>
    internal static (float[] Input, int Batch) Tokens(Tensor x, TernaryPacked weight, string who)
    {
        if (x.shape[^1] != weight.Columns)
            throw new QuantTuneException($"{who}: input has {x.shape[^1]} features; the weight takes {weight.Columns}");
        using var scope = NewDisposeScope();
        var input = x.detach().reshape(-1, weight.Columns).to_type(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
        return (input, (int)x.shape[..^1].Aggregate(1L, (a, b) => a * b));
    }

    /// <summary>The float32 result [tokens · rows] as a tensor shaped like x with its last dimension <paramref name="rows"/>.</summary>
    internal static Tensor Output(float[] y, Tensor x, long rows)
    {
        var shape = x.shape.ToArray();
        shape[^1] = rows;
        return tensor(y, shape, ScalarType.Float32);
    }
}
