using System.Runtime.Intrinsics.X86;

namespace QuantTune.Formats.Gguf.Kernels;

/// <summary>
/// The instruction set a dot product runs on. Both give the same bits: the vector code computes only the exact
/// integer sum of each block, and the float steps that follow are shared.
/// </summary>
public enum KernelIsa
{
    /// <summary>Plain C#, ggml's <c>*_generic</c> functions.</summary>
    Scalar,
    /// <summary>256-bit integer SIMD (<c>vpmaddubsw</c> / <c>vpmaddwd</c>), where <see cref="Avx2.IsSupported"/>.</summary>
    Avx2,
}

/// <summary>The fastest <see cref="KernelIsa"/> this processor runs.</summary>
public static class KernelIsas
{
    public static KernelIsa Best => Avx2.IsSupported ? KernelIsa.Avx2 : KernelIsa.Scalar;

    /// <summary><paramref name="isa"/>, refused when this processor cannot run it.</summary>
    public static KernelIsa Checked(KernelIsa isa) => isa == KernelIsa.Avx2 && !Avx2.IsSupported
        ? throw new PlatformNotSupportedException("KernelIsa.Avx2 was asked for, but this processor has no AVX2")
        : isa;
}
