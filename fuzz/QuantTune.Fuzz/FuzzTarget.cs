using QuantTune.Diagnostics;

namespace QuantTune.Fuzz;

/// <summary>
/// One parser under fuzzing: the input is written as <see cref="VaryingFile"/> into a scratch
/// folder that also holds the valid files <see cref="Prepare"/> put there, and <see cref="Load"/>
/// reads it as a user's command would. The target passes when the load succeeds or raises a
/// <see cref="QuantTuneException"/> whose message names the varying file (its full path); any other
/// outcome is a <see cref="FuzzFinding"/>.
/// </summary>
public sealed class FuzzTarget
{
    readonly Lazy<string> _folder;

    public FuzzTarget(string name, string varyingFile, Action<string> load, Action<string>? prepare = null, Func<IEnumerable<(string Name, byte[] Bytes)>>? seeds = null)
    {
        Name = name;
        VaryingFile = varyingFile;
        Load = load;
        Seeds = seeds ?? (() => []);
        _folder = new(() =>
        {
            // $QUANTTUNE_FUZZ_FOLDER: a folder prepared once (tools/fuzz.sh prepares it with the
            // uninstrumented build, so the fuzzing loop only runs the load).
            if (Environment.GetEnvironmentVariable("QUANTTUNE_FUZZ_FOLDER") is { Length: > 0 } given)
            {
                var full = Path.GetFullPath(given);
                if (!File.Exists(Path.Combine(full, Prepared)))
                {
                    Directory.CreateDirectory(full);
                    prepare?.Invoke(full);
                    File.WriteAllText(Path.Combine(full, Prepared), "");
                }
                return full;
            }
            var dir = Directory.CreateTempSubdirectory($"quanttune-fuzz-{name}-").FullName;
            AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, true); } catch (IOException) { } };
            prepare?.Invoke(dir);
            return dir;
        });
    }

    const string Prepared = ".prepared";

    public string Name { get; }

    /// <summary>The file name the input is written as.</summary>
    public string VaryingFile { get; }

    /// <summary>Reads the scratch folder; the argument is the varying file's full path.</summary>
    public Action<string> Load { get; }

    /// <summary>Seed inputs beyond the valid file of the prepared folder.</summary>
    public Func<IEnumerable<(string Name, byte[] Bytes)>> Seeds { get; }

    /// <summary>The scratch folder with the valid fixed files.</summary>
    public string Folder => _folder.Value;

    public string VaryingPath => Path.Combine(Folder, VaryingFile);

    /// <summary>Runs one input; throws <see cref="FuzzFinding"/> when the contract is broken.</summary>
    public void Run(byte[] input)
    {
        var path = VaryingPath;
        File.WriteAllBytes(path, input);
        try
        {
            Load(path);
        }
        catch (QuantTuneException e) when (e.Message.Contains(path, StringComparison.Ordinal))
        {
        }
        catch (QuantTuneException e)
        {
            throw new FuzzFinding(Name, $"a QuantTuneException that does not name {path}: {e.Message}", e);
        }
        catch (Exception e) when (e is not FuzzFinding)
        {
            throw new FuzzFinding(Name, $"{e.GetType().FullName}: {e.Message}", e);
        }
    }
}

/// <summary>An input that broke a target's contract: a raw .NET exception, or an error that does not name the file.</summary>
public sealed class FuzzFinding(string target, string problem, Exception inner) : Exception($"fuzz target {target}: {problem}", inner);
