using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using QuantTune.Diagnostics;
using static TorchSharp.torch;

namespace QuantTune.Qat;

/// <summary>
/// The fast CPU kernel of BitNet b1.58 inference, y = x·Wᵀ for a ternary W, in the manner of
/// bitnet.cpp: each token's activations are quantized to int8 by absmax (exactly as
/// <see cref="FakeQuant.PerToken8Bit"/> does in training), the 2-bit weights
/// (<see cref="TernaryPacking.TwoBitInterleaved"/>) are decoded 32 at a time by a shift and a mask,
/// and each weight's contribution is its activation, its negation or nothing: a sign-select
/// (AVX2 <c>vpsignb</c>) or, portably, two compare masks and a subtraction. Sums are widened to int16
/// and added, flushed into int32 before they can overflow; no weight is ever multiplied. The one
/// multiplication is per output, by the token's activation scale times γ. Output rows are split
/// between threads.
/// </summary>
public static class TernaryKernel
{
    /// <summary>Largest int8 activation code, as <see cref="FakeQuant.MaxCode"/>(8).</summary>
    const int MaxCode = 127;
    /// <summary>Blocks of 128 columns after which the int16 sums are flushed: 64 · 4 · 127 = 32,512 ≤ 32,767.</summary>
    const int FlushBlocks = 64;
    /// <summary>Output rows a thread takes at a time.</summary>
    const int RowsPerTask = 32;

    /// <summary>
    /// x [..., columns] (any float dtype, any device) → γ·x_q·Wᵀ [..., rows] float32 on the CPU, with
    /// x_q the per-token int8 fake quantization of x: what <see cref="BitLinear158"/> computes,
    /// from packed weights.
    /// </summary>
    public static Tensor Apply(Tensor x, TernaryPacked weight, float gamma)
    {
        CheckLayout(weight);
        var (input, batch) = TernaryMatmul.Tokens(x, weight, "ternary kernel");
        int columns = (int)weight.Columns, rows = (int)weight.Rows;
        int padded = PaddedColumns(weight);
        var codes = new sbyte[batch * padded];
        var scales = new float[batch];
        for (int t = 0; t < batch; t++)
            scales[t] = QuantizeActivations(input.AsSpan(t * columns, columns), codes.AsSpan(t * padded, columns)) * gamma;
        var sums = new int[batch * rows];
        Accumulate(weight, codes, batch, sums);
        var output = new float[sums.Length];
        for (int t = 0; t < batch; t++)
            for (int o = 0; o < rows; o++)
                output[t * rows + o] = sums[t * rows + o] * scales[t];
        return TernaryMatmul.Output(output, x, rows);
    }

    /// <summary>
    /// Per-token absmax int8: s = max(max|x| / 127, 1e-8), q = round(x / s) with ties to even,
    /// as <see cref="FakeQuant.PerToken8Bit"/> computes it in float32. Returns s.
    /// </summary>
    public static float QuantizeActivations(ReadOnlySpan<float> x, Span<sbyte> codes)
    {
        float absmax = 0;
        foreach (var v in x) absmax = MathF.Max(absmax, MathF.Abs(v));
        float scale = MathF.Max(absmax / MaxCode, (float)FakeQuant.MinScale);
        for (int i = 0; i < x.Length; i++)
            codes[i] = (sbyte)Math.Clamp(MathF.Round(x[i] / scale, MidpointRounding.ToEven), -MaxCode, MaxCode);
        return scale;
    }

    /// <summary>Columns of a token's activation codes as <see cref="Accumulate"/> reads them: the weight's, padded to 128.</summary>
    public static int PaddedColumns(TernaryPacked weight) => (int)(TernaryPacked.InterleavedRowBytes(weight.Columns) * 4);

    /// <summary>
    /// sums[t·rows + o] = Σ_i W[o, i]·codes[t·padded + i], exactly, for <paramref name="batch"/> tokens of
    /// int8 codes in [−127, 127] laid out <see cref="PaddedColumns"/> apart (padding zero).
    /// <paramref name="portable"/> forces the compare-mask path that runs where AVX2 does not.
    /// </summary>
    public static void Accumulate(TernaryPacked weight, sbyte[] codes, int batch, int[] sums, bool portable = false)
    {
        CheckLayout(weight);
        int rows = (int)weight.Rows, padded = PaddedColumns(weight), rowBytes = padded / 4;
        if (codes.Length < batch * padded || sums.Length < batch * rows)
            throw new QuantTuneException($"ternary kernel: buffers hold {codes.Length} codes and {sums.Length} sums; {batch} tokens need {batch * padded} and {batch * rows}");
        bool sign = Avx2.IsSupported && !portable;
        var data = weight.Data;
        Parallel.For(0, (rows + RowsPerTask - 1) / RowsPerTask, task =>
        {
            int end = Math.Min(rows, (task + 1) * RowsPerTask);
            for (int o = task * RowsPerTask; o < end; o++)
            {
                var row = data.AsSpan(o * rowBytes, rowBytes);
                for (int t = 0; t < batch; t++)
                    sums[t * rows + o] = sign ? Dot<SignSelect>(row, codes.AsSpan(t * padded, padded)) : Dot<MaskSelect>(row, codes.AsSpan(t * padded, padded));
            }
        });
    }

    static void CheckLayout(TernaryPacked weight)
    {
        if (weight.Packing != TernaryPacking.TwoBitInterleaved)
            throw new QuantTuneException($"ternary kernel: the weight is packed {weight.Packing}; the kernel reads {TernaryPacking.TwoBitInterleaved} (repack it)");
    }

    /// <summary>The trits of columns 32k … 32k + 31 of a block, as codes 0, 1, 2 (trit + 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<byte> Codes(Vector256<byte> packed, int k) =>
        Vector256.ShiftRightLogical(packed.AsUInt16(), 2 * k).AsByte() & Vector256.Create((byte)3);

    /// <summary>How one 32-column step turns activations and weight codes (0, 1, 2 = trit + 1) into ±x or 0.</summary>
    interface ISelect
    {
        static abstract Vector256<sbyte> Select(Vector256<sbyte> x, Vector256<byte> codes);
    }

    /// <summary><c>vpsignb</c>: x where the trit is 1, −x where −1, 0 where 0.</summary>
    readonly struct SignSelect : ISelect
    {
        public static Vector256<sbyte> Select(Vector256<sbyte> x, Vector256<byte> codes) => Avx2.Sign(x, codes.AsSByte() - Vector256<sbyte>.One);
    }

    /// <summary>Portable: (x AND [trit = 1]) − (x AND [trit = −1]).</summary>
    readonly struct MaskSelect : ISelect
    {
        public static Vector256<sbyte> Select(Vector256<sbyte> x, Vector256<byte> codes) =>
            (x & Vector256.Equals(codes, Vector256.Create((byte)2)).AsSByte()) - (x & Vector256.Equals(codes, Vector256<byte>.Zero).AsSByte());
    }

    /// <summary>Σ trit·x over one row: per block of 128 columns one 32-byte load, four shift-and-mask decodes, four selects.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // straight to optimized code: tier-0 vector loops are many times slower
    static int Dot<TSelect>(ReadOnlySpan<byte> row, ReadOnlySpan<sbyte> x) where TSelect : struct, ISelect
    {
        ref byte w = ref MemoryMarshal.GetReference(row);
        ref sbyte a = ref MemoryMarshal.GetReference(x);
        var total = Vector256<int>.Zero;
        for (int start = 0, blocks = row.Length / 32; start < blocks; start += FlushBlocks)
        {
            Vector256<short> low = default, high = default;
            for (int b = start, end = Math.Min(blocks, start + FlushBlocks); b < end; b++)
            {
                var packed = Vector256.LoadUnsafe(ref w, (nuint)(b * 32));
                for (int k = 0; k < 4; k++)
                {
                    var (l, h) = Vector256.Widen(TSelect.Select(Vector256.LoadUnsafe(ref a, (nuint)(b * 128 + k * 32)), Codes(packed, k)));
                    low += l;
                    high += h;
                }
            }
            total += Flush(low, high);
        }
        return Vector256.Sum(total);
    }

    /// <summary>The int16 partial sums widened to int32 and added lane-wise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Flush(Vector256<short> low, Vector256<short> high)
    {
        var (a, b) = Vector256.Widen(low);
        var (c, d) = Vector256.Widen(high);
        return a + b + c + d;
    }
}
