using QuantTune.Fuzz;
using SharpFuzz;

// QuantTune.Fuzz list                   the target names
// QuantTune.Fuzz seed CORPUS_DIR        writes every target's seeds under CORPUS_DIR/<target>/
// QuantTune.Fuzz replay TARGET FILE...  runs inputs once each, printing any finding (exit 1 when one is found)
// QuantTune.Fuzz prepare TARGET         builds the target's fixed files ($QUANTTUNE_FUZZ_MICRO, $QUANTTUNE_FUZZ_FOLDER)
// QuantTune.Fuzz fuzz TARGET            the AFL++ loop (run by tools/fuzz.sh under afl-fuzz, on an instrumented
//                                       QuantTune.dll, which must not run before the loop has started)
switch (args)
{
    case ["list"]:
        foreach (var t in FuzzTargets.All) Console.WriteLine(t.Name);
        return 0;
    case ["seed", var corpus]:
        foreach (var t in FuzzTargets.All)
        {
            var dir = Path.Combine(corpus, t.Name);
            Directory.CreateDirectory(dir);
            foreach (var (name, bytes) in t.Seeds()) File.WriteAllBytes(Path.Combine(dir, name), bytes);
            Console.WriteLine($"{t.Name}: {Directory.GetFiles(dir).Length} seeds");
        }
        return 0;
    case ["replay", var name, .. var files]:
    {
        var target = FuzzTargets.Get(name);
        int found = 0;
        foreach (var file in files)
        {
            try { target.Run(File.ReadAllBytes(file)); }
            catch (FuzzFinding f) { found++; Console.WriteLine($"{file}: {f.Message}\n{f.InnerException}"); }
        }
        Console.WriteLine($"{files.Length} inputs, {found} findings");
        return found == 0 ? 0 : 1;
    }
    case ["prepare", var name]:
        Console.WriteLine(FuzzTargets.Get(name).Folder);
        return 0;
    case ["fuzz", var name]:
        Fuzzer.OutOfProcess.Run(stream =>
        {
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            FuzzTargets.Get(name).Run(buffer.ToArray());
        });
        return 0;
    default:
        Console.Error.WriteLine("usage: QuantTune.Fuzz list | seed CORPUS_DIR | replay TARGET FILE... | fuzz TARGET");
        return 2;
}
