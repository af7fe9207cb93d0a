using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace QuantTune.Formats.Gguf.Kernels;

/// <summary>Loads and reductions the dot products share.</summary>
static unsafe class KernelMath
{
    /// <summary>The little-endian fp16 at <paramref name="p"/> (<c>GGML_CPU_FP16_TO_FP32</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float F16(byte* p) => F16Table[Unsafe.ReadUnaligned<ushort>(p)];

    /// <summary>Every fp16 bit pattern as float32 (ggml's <c>ggml_table_f32_f16</c>): a load instead of a software conversion per block.</summary>
    static readonly float[] F16Table = Enumerable.Range(0, 1 << 16).Select(h => (float)BitConverter.UInt16BitsToHalf((ushort)h)).ToArray();

    /// <summary>The little-endian float32 at <paramref name="p"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float F32(byte* p) => Unsafe.ReadUnaligned<float>(p);

    /// <summary>32 unsigned bytes from <paramref name="p"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> LoadBytes(byte* p) => Avx.LoadVector256(p);

    /// <summary>32 signed bytes from <paramref name="p"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<sbyte> LoadSBytes(byte* p) => Avx.LoadVector256((sbyte*)p);

    /// <summary>Each byte shifted right by <paramref name="count"/> (a 16-bit shift, masked back to the byte's low bits by the caller).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> ShiftRight(Vector256<byte> v, [ConstantExpected] byte count) => (v.AsUInt16() >>> count).AsByte();

    /// <summary>Each byte shifted left by <paramref name="count"/>; exact while no byte's bits cross into its neighbour.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> ShiftLeft(Vector256<byte> v, [ConstantExpected] byte count) => (v.AsUInt16() << count).AsByte();

    /// <summary>
    /// unsigned a · signed b, adjacent pairs summed to int16 (<c>vpmaddubsw</c>), then times <paramref name="scale"/>
    /// and pairs summed to int32 (<c>vpmaddwd</c>). Exact while |a0 b0 + a1 b1| &lt; 2^15.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> ScaledDot(Vector256<byte> a, Vector256<sbyte> b, Vector256<short> scale) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a, b), scale);

    /// <summary>
    /// signed a · signed b in int32 lanes, by the sign trick (|a| unsigned times b with a's sign), exact while no
    /// pair reaches 2^15: b must not hold -128.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> SignedDot(Vector256<sbyte> a, Vector256<sbyte> b) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.Abs(a), Avx2.Sign(b, a)), Vector256<short>.One);

    /// <summary>The sum of the eight lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Sum(Vector256<int> v) => Vector256.Sum(v);
}
