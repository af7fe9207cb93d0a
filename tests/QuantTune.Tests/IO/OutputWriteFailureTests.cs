using QuantTune.Diagnostics;
using QuantTune.IO;

namespace QuantTune.Tests.IO;

/// <summary>
/// What a user sees when an output cannot be written: a folder that accepts no new files is found before the work,
/// a folder of someone else's files is refused before the work, and a write that fails on the way (a full disk)
/// names the output asked for, never the hidden temporary it was being written under, and leaves the old output.
/// </summary>
public sealed class OutputWriteFailureTests() : TempFolderTest("qt-outfail-")
{
    /// <summary>The error .NET raises for ENOSPC while writing <paramref name="file"/>.</summary>
    static IOException DiskFull(string file) => new($"No space left on device : '{file}'", 28);

    [Fact]
    public void AFullDiskNamesTheFileAskedForAndKeepsTheOldOne()
    {
        var target = Path.Combine(Dir, "model.gguf");
        AtomicFile.WriteAllText(target, "old");
        var e = Assert.Throws<QuantTuneException>(() => AtomicFile.Write(target, s =>
        {
            s.Write(new byte[100]);
            throw DiskFull(((FileStream)s).Name);
        }));
        Assert.Equal($"{target}: could not be written (No space left on device); nothing was changed", e.Message);
        Assert.Equal("old", File.ReadAllText(target));
        Assert.Equal(["model.gguf"], Directory.GetFileSystemEntries(Dir).Select(Path.GetFileName));
    }

    [Fact]
    public void AFullDiskWhileWritingAFolderNamesTheFolderAskedFor()
    {
        var target = Path.Combine(Dir, "quantized");
        AtomicDirectory.Write(target, d => File.WriteAllText(Path.Combine(d, "config.json"), "old"));
        // A file of the folder written through AtomicFile (as model.safetensors is), and a plain write beside it.
        var viaAtomicFile = Assert.Throws<QuantTuneException>(() => AtomicDirectory.Write(target, d =>
            AtomicFile.Write(Path.Combine(d, "model.safetensors"), s => throw DiskFull(((FileStream)s).Name))));
        var plain = Assert.Throws<QuantTuneException>(() => AtomicDirectory.Write(target, d =>
            throw DiskFull(Path.Combine(d, "config.json"))));
        foreach (var e in new[] { viaAtomicFile, plain })
        {
            Assert.Equal($"{target}: could not be written (No space left on device); nothing was changed", e.Message);
            Assert.DoesNotContain(".tmp", e.Message);
        }
        Assert.Equal("old", File.ReadAllText(Path.Combine(target, "config.json")));
        Assert.Equal(["quantized"], Directory.GetFileSystemEntries(Dir).Select(Path.GetFileName));
    }

    [Fact]
    public void AnErrorOfTheWorkItselfIsLeftAsItIs()
    {
        // An I/O error that is not about the output (an input file read during the work) keeps its own message.
        var target = Path.Combine(Dir, "out");
        var e = Assert.Throws<IOException>(() => AtomicDirectory.Write(target, _ => throw new IOException("input.bin: read failed")));
        Assert.Equal("input.bin: read failed", e.Message);
    }

    [Fact]
    public void AFolderThatAcceptsNoFilesIsFoundBeforeTheWork()
    {
        if (!OperatingSystem.IsLinux()) return; // /proc accepts no new files, for root too
        var problem = OutputFolder.Problem("/proc/quanttune-out/model", isFolder: true);
        Assert.StartsWith("cannot be written: the folder /proc does not accept new files (", problem);
        Assert.DoesNotContain(".tmp", problem);
        Assert.Null(OutputFolder.Problem(Path.Combine(Dir, "new", "deeper", "out"), isFolder: true));
        // A name too long for the file system (or for its temporary) is refused up front, not by a raw PathTooLongException after the work.
        Assert.Contains("is 220 bytes long; at most 209 fit", OutputFolder.Problem(Path.Combine(Dir, new string('a', 220)), isFolder: false));
        Assert.Contains("is 300 bytes long; at most 255 fit", OutputFolder.Problem(Path.Combine(Dir, new string('b', 300), "out"), isFolder: true));
        Assert.Null(OutputFolder.Problem(Path.Combine(Dir, new string('a', 209)), isFolder: false));
        Assert.Equal("The path is too long, or a component of the specified path is too long",
            OutputFolder.Reason(new PathTooLongException($"The path '{Dir}/x' is too long, or a component of the specified path is too long.")));
        Assert.Empty(Directory.GetFileSystemEntries(Dir));
    }

    [Fact]
    public void AFolderOfOtherFilesIsRefusedBeforeTheWork()
    {
        var target = Path.Combine(Dir, "mine");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "config.json"), "an earlier output");
        AtomicDirectory.CheckReplaceable(target, ["config.json", "model.safetensors"]);
        File.WriteAllText(Path.Combine(target, "notes.md"), "keep me");
        var e = Assert.Throws<QuantTuneException>(() => AtomicDirectory.CheckReplaceable(target, ["config.json", "model.safetensors"]));
        Assert.Contains($"{target}: already exists and holds 1 file(s) that this output would not replace (notes.md)", e.Message);
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(target, "notes.md")));
    }
}
