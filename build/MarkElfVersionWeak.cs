#nullable enable
using System;
using System.IO;
using System.Linq;
using System.Text;
#if !QUANTTUNE_LIBRARY
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
#endif

/// <summary>
/// Sets VER_FLG_WEAK on one symbol-version requirement (an Elf64_Vernaux entry of the
/// .gnu.version_r section) of an ELF shared library, so that the dynamic loader only warns
/// instead of refusing to load when the system library lacks that version. One file serves
/// the build (the MSBuild task below) and the library (compiled with QUANTTUNE_LIBRARY, which
/// patches its own output copy when it is loaded: see QuantTune.Runtime.LibTorchSharpPatch).
/// </summary>
internal static class ElfVersionPatch
{
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlagWeak = 0x2;

    public static readonly string[] SystemLibraries = new[]
    {
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
    };

    /// <summary>Whether a system libstdc++ exists and none of <paramref name="libraries"/> defines <paramref name="versionName"/>.</summary>
    public static bool SystemLacks(string versionName, string[] libraries)
    {
        var present = libraries.Where(File.Exists).ToArray();
        if (present.Length == 0) return false;
        var needle = Encoding.ASCII.GetBytes(versionName + "\0");
        return !present.Any(l => IndexOf(File.ReadAllBytes(l), needle) >= 0);
    }

    /// <summary>Marks the requirement weak in the file at <paramref name="path"/> through a temporary file and a rename; null: no such requirement, false: already weak, true: marked.</summary>
    public static bool? MarkWeakInFile(string path, string versionName)
    {
        var bytes = File.ReadAllBytes(path);
        var result = MarkWeak(bytes, versionName);
        if (result != true) return result;
        var tmp = path + ".weak-tmp";
        File.WriteAllBytes(tmp, bytes);
        File.Replace(tmp, path, null);
        return true;
    }

    /// <returns>null when the file has no such requirement, false when it was already weak,
    /// true when the flag was set in <paramref name="elf"/>.</returns>
    public static bool? MarkWeak(byte[] elf, string versionName)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file (bad magic)");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("expected a 64-bit little-endian ELF file");
        ulong shoff = U64(elf, 0x28);
        int shentsize = U16(elf, 0x3A), shnum = U16(elf, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            int sh = Checked(elf, shoff + (ulong)(i * shentsize), 64);
            if (U32(elf, sh + 4) != ShtGnuVerneed) continue;
            ulong offset = U64(elf, sh + 0x18);
            uint link = U32(elf, sh + 0x28), count = U32(elf, sh + 0x2C);
            int strtab = Checked(elf, shoff + (ulong)(link * shentsize), 64);
            ulong strOffset = U64(elf, strtab + 0x18), strSize = U64(elf, strtab + 0x20);
            int vn = Checked(elf, offset, 16);
            for (uint n = 0; n < count; n++)
            {
                int aux = Checked(elf, (ulong)vn + U32(elf, vn + 8), 16);
                for (int a = 0; a < U16(elf, vn + 2); a++)
                {
                    uint name = U32(elf, aux + 8);
                    if (name < strSize && ReadString(elf, Checked(elf, strOffset + name, 1)) == versionName)
                    {
                        ushort flags = U16(elf, aux + 4);
                        if ((flags & VerFlagWeak) != 0) return false;
                        int weak = flags | VerFlagWeak;
                        elf[aux + 4] = (byte)(weak & 0xff);
                        elf[aux + 5] = (byte)(weak >> 8);
                        return true;
                    }
                    uint next = U32(elf, aux + 12);
                    if (next == 0) break;
                    aux = Checked(elf, (ulong)aux + next, 16);
                }
                uint vnNext = U32(elf, vn + 12);
                if (vnNext == 0) break;
                vn = Checked(elf, (ulong)vn + vnNext, 16);
            }
        }
        return null;
    }

    static int Checked(byte[] elf, ulong offset, int length)
    {
        if (offset + (ulong)length > (ulong)elf.Length) throw new InvalidDataException($"offset {offset} is beyond the end of the file");
        return (int)offset;
    }

    static string ReadString(byte[] b, int at)
    {
        int end = Array.IndexOf(b, (byte)0, at);
        return Encoding.ASCII.GetString(b, at, (end < 0 ? b.Length : end) - at);
    }

    static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = Array.IndexOf(haystack, needle[0]); i >= 0 && i <= haystack.Length - needle.Length; i = Array.IndexOf(haystack, needle[0], i + 1))
        {
            int j = 1;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }
    static ushort U16(byte[] b, int at) => BitConverter.ToUInt16(b, at);
    static uint U32(byte[] b, int at) => BitConverter.ToUInt32(b, at);
    static ulong U64(byte[] b, int at) => BitConverter.ToUInt64(b, at);
    static ulong U64(byte[] b, ulong at) => BitConverter.ToUInt64(b, (int)at);
}

#if !QUANTTUNE_LIBRARY
/// <summary>
/// After every build and publish: marks the version weak in the output copies, only when the
/// system libstdc++ lacks it (so systems with a newer libstdc++ are left untouched).
/// </summary>
public sealed class MarkElfVersionWeak : Task
{
    [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();
    [Required] public string VersionName { get; set; } = "";
    [Required] public string SystemLibraries { get; set; } = "";

    public override bool Execute()
    {
        var libraries = SystemLibraries.Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries);
        if (!ElfVersionPatch.SystemLacks(VersionName, libraries))
        {
            Log.LogMessage(MessageImportance.Low, $"The system libstdc++ defines {VersionName} (or there is none); nothing to patch.");
            return true;
        }
        foreach (var item in Files)
        {
            var path = item.ItemSpec;
            try
            {
                var result = ElfVersionPatch.MarkWeakInFile(path, VersionName);
                if (result == null) Log.LogMessage(MessageImportance.Low, $"{path}: no requirement on {VersionName}.");
                else if (result == false) Log.LogMessage(MessageImportance.Low, $"{path}: {VersionName} already weak.");
                else Log.LogMessage(MessageImportance.High, $"{path}: marked the {VersionName} requirement weak (system libstdc++ lacks it).");
            }
            catch (Exception e) when (e is IOException || e is InvalidDataException || e is UnauthorizedAccessException)
            {
                Log.LogError($"{path}: could not mark {VersionName} weak: {e.Message}");
            }
        }
        return !Log.HasLoggedErrors;
    }
}
#endif
