using System.Text;

namespace QuantTune.Tests.Build;

/// <summary>
/// The build marks GLIBCXX_3.4.32 weak in the output copy of libLibTorchSharp.so exactly when the
/// system libstdc++ lacks that version. Checked here with an independent reading of the ELF
/// .gnu.version_r section, and by libtorch working at all in this process.
/// </summary>
public sealed class LibTorchSharpLoadTests
{
    const string Version = "GLIBCXX_3.4.32";

    static bool SystemHasVersion()
    {
        var candidates = new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6" };
        var needle = Encoding.ASCII.GetBytes(Version + "\0");
        return candidates.Where(File.Exists).Any(f => File.ReadAllBytes(f).AsSpan().IndexOf(needle) >= 0);
    }

    /// <summary>vna_flags of the Vernaux entry naming <paramref name="version"/>, or null.</summary>
    static ushort? VersionFlags(byte[] elf, string version)
    {
        ulong shoff = BitConverter.ToUInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            int sh = (int)shoff + i * shentsize;
            if (BitConverter.ToUInt32(elf, sh + 4) != 0x6ffffffe) continue; // SHT_GNU_verneed
            int offset = (int)BitConverter.ToUInt64(elf, sh + 0x18);
            int strtab = (int)shoff + (int)BitConverter.ToUInt32(elf, sh + 0x28) * shentsize;
            int strOffset = (int)BitConverter.ToUInt64(elf, strtab + 0x18);
            int vn = offset;
            for (uint n = 0; n < BitConverter.ToUInt32(elf, sh + 0x2C); n++)
            {
                int aux = vn + (int)BitConverter.ToUInt32(elf, vn + 8);
                for (int a = 0; a < BitConverter.ToUInt16(elf, vn + 2); a++)
                {
                    int name = strOffset + (int)BitConverter.ToUInt32(elf, aux + 8);
                    int end = Array.IndexOf(elf, (byte)0, name);
                    if (Encoding.ASCII.GetString(elf, name, end - name) == version) return BitConverter.ToUInt16(elf, aux + 4);
                    aux += (int)BitConverter.ToUInt32(elf, aux + 12);
                }
                vn += (int)BitConverter.ToUInt32(elf, vn + 12);
            }
        }
        return null;
    }

    [Fact]
    public void OutputCopyIsWeakExactlyWhenTheSystemLacksTheVersion()
    {
        if (!OperatingSystem.IsLinux()) return;
        var lib = Directory.GetFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories).Single();
        var flags = VersionFlags(File.ReadAllBytes(lib), Version);
        Assert.NotNull(flags); // TorchSharp 0.107 requires it; if a later version stops, this build step can go
        bool weak = (flags!.Value & 0x2) != 0;
        Assert.Equal(!SystemHasVersion(), weak);
    }

    [Fact]
    public void LibTorchLoadsAndComputes()
    {
        using var a = TorchSharp.torch.ones(2, 3);
        Assert.Equal(6f, a.sum().item<float>());
    }
}
