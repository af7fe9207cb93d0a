using System.Runtime.CompilerServices;

namespace QuantTune.Runtime;

/// <summary>
/// TorchSharp 0.107's libLibTorchSharp.so requires GLIBCXX_3.4.32 (GCC 13's libstdc++) for a
/// symbol it never calls, so on Debian 12 (GCC 12) it does not load. When QuantTune is loaded,
/// before TorchSharp loads its native library, this marks that one requirement weak in the
/// application's copies of the file, exactly when the system libstdc++ lacks the version - as
/// the build does in this repository, and so for any project that references QuantTune.
/// Where the copy cannot be written, <see cref="Problem"/> says why and what to do.
/// </summary>
public static class LibTorchSharpPatch
{
    public const string VersionName = "GLIBCXX_3.4.32";

    /// <summary>Set to 1 to leave the native library as it is (to see the loader's own error).</summary>
    public const string OptOutVariable = "QUANTTUNE_NO_GLIBCXX_PATCH";

    /// <summary>Why the native library may not load (a copy that needs the patch and could not be patched), or null.</summary>
    public static string? Problem { get; private set; }

    /// <summary>The copies that were patched in this process.</summary>
    public static IReadOnlyList<string> Patched => _patched;
    static readonly List<string> _patched = [];

#pragma warning disable CA2255 // A library's module initializer: it must run before TorchSharp's static constructor loads the native library.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void BeforeTorchSharpLoads()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(OptOutVariable) == "1") return;
        try
        {
            if (!ElfVersionPatch.SystemLacks(VersionName, ElfVersionPatch.SystemLibraries)) return;
            foreach (var copy in Copies())
            {
                try
                {
                    if (ElfVersionPatch.MarkWeakInFile(copy, VersionName) == true) _patched.Add(copy);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
                {
                    Problem = $"{copy} requires {VersionName}, which this system's libstdc++ lacks (it comes with GCC 13; Debian 12 has GCC 12's), " +
                        $"and it could not be patched ({e.Message}). Make the file writable once, or build with the QuantTune package, whose build step marks that requirement weak.";
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Problem = $"could not check the system libstdc++ for {VersionName}: {e.Message}";
        }
    }

    /// <summary>libLibTorchSharp.so beside the application and under its runtimes/&lt;rid&gt;/native folders.</summary>
    static IEnumerable<string> Copies()
    {
        var root = AppContext.BaseDirectory;
        var direct = Path.Combine(root, "libLibTorchSharp.so");
        if (File.Exists(direct)) yield return direct;
        var runtimes = Path.Combine(root, "runtimes");
        if (!Directory.Exists(runtimes)) yield break;
        foreach (var rid in Directory.EnumerateDirectories(runtimes, "linux*"))
        {
            var file = Path.Combine(rid, "native", "libLibTorchSharp.so");
            if (File.Exists(file)) yield return file;
        }
    }
}
