using System.Runtime.InteropServices;

namespace QuantTune.Runtime;

/// <summary>
/// Makes freed tensor memory go back to the OS during work that allocates and frees many large
/// temporaries, such as loading a model one layer at a time. glibc's malloc serves large blocks with
/// their own mappings, but after the first such block is freed it raises that threshold (up to 32 MiB)
/// and serves later ones from its heap, where freed memory stays resident: a load that frees a 50 MB
/// layer 200 times then holds most of the memory it ever touched. Inside the scope the threshold is
/// fixed at 128 KiB, so each freed layer is unmapped; afterwards it is set to glibc's 64-bit maximum
/// (the value the dynamic threshold reaches anyway) and the heap is trimmed. Elsewhere than glibc,
/// nothing happens.
/// </summary>
public static partial class NativeHeap
{
    const int M_MMAP_THRESHOLD = -3;
    const int DuringScope = 128 << 10, Afterwards = 32 << 20;
    static bool _unavailable = !OperatingSystem.IsLinux();

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int MallOpt(int parameter, int value);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    /// <summary>Large blocks are mapped and unmapped one by one until the returned scope is disposed.</summary>
    public static IDisposable ReturnLargeBlocks()
    {
        Call(() => MallOpt(M_MMAP_THRESHOLD, DuringScope));
        return new Scope();
    }

    sealed class Scope : IDisposable
    {
        bool _disposed;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            Call(() => MallOpt(M_MMAP_THRESHOLD, Afterwards));
            Call(() => MallocTrim(0));
        }
    }

    static void Call(Func<int> call)
    {
        if (_unavailable) return;
        try { call(); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = true;
        }
    }
}
