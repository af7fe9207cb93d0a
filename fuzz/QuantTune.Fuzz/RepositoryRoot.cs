namespace QuantTune.Fuzz;

/// <summary>The repository's root: the nearest folder above the working directory or the assembly that holds QuantTune.slnx.</summary>
public static class RepositoryRoot
{
    public static string Find()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "QuantTune.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException($"no QuantTune.slnx above {Environment.CurrentDirectory} or {AppContext.BaseDirectory}");
    }

    public static string Corpus(string target) => Path.Combine(Find(), "fuzz", "corpus", target);

    public static string Repros(string target) => Path.Combine(Find(), "fuzz", "repros", target);
}
