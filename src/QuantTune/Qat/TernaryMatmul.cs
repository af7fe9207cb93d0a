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
        if (x.shape[^1] != weight.Columns)
            throw new QuantTuneException($"ternary matmul: input has {x.shape[^1]} features; the weight takes {weight.Columns}");
        int columns = (int)weight.Columns, rows = (int)weight.Rows;
        float[] input;
        using (var scope = NewDisposeScope())
            input = x.detach().reshape(-1, columns).to_type(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
        int batch = (int)x.shape[..^1].Aggregate(1L, (a, b) => a * b);
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
        var shape = x.shape.ToArray();
        shape[^1] = rows;
        return tensor(output, shape, ScalarType.Float32);
    }
}
