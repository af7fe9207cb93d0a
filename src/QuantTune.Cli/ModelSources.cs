using System.CommandLine;
using System.CommandLine.Parsing;
using QuantTune.Cli.Rendering;
using QuantTune.Diagnostics;
using QuantTune.Hub;
using Spectre.Console;

namespace QuantTune.Cli;

/// <summary>
/// What a <c>--model</c> value names: the embedded model's name, a local file or folder, or a
/// Hub id (<c>org/name[@revision]</c>) that is neither, which stands for its snapshot folder in the
/// shared Hugging Face cache. Ids are resolved (downloaded where files are missing, the bar on
/// stderr so that --json output stays clean) after the command line parsed without errors and
/// before the command runs, so that a usage error never waits for a download.
/// </summary>
public static class ModelSources
{
    static readonly Dictionary<string, string> Resolved = new(StringComparer.Ordinal);

    /// <summary>The model option: a folder, a file, the embedded model's name or a Hub id.</summary>
    public sealed class ModelOption(string name, params string[] aliases) : Option<string>(name, aliases);

    /// <summary>The parser's mapping: an id resolved already becomes its folder; the embedded model's name its folder.</summary>
    public static string Map(string value) => Resolved.TryGetValue(value, out var folder) ? folder : Assets.ModelPath(value);

    /// <summary>Resolves the Hub ids given to model options; true when there were any (the command line is then parsed again).</summary>
    public static bool ResolveHubIds(ParseResult parse)
    {
        bool any = false;
        foreach (var option in parse.CommandResult.Children.OfType<OptionResult>().Where(o => o.Option is ModelOption))
            foreach (var value in option.Tokens.Select(t => t.Value))
            {
                if (Resolved.ContainsKey(value)) continue;
                // A local folder left aside by a write killed between its two renames is the model meant, not a Hub id.
                QuantTune.IO.AtomicDirectory.RestoreIfMissing(value);
                if (Directory.Exists(value) || File.Exists(value) || Assets.ModelPath(value) != value) continue;
                if (HubModelId.TryParse(value) is not { } id) continue;
                try { Resolved[value] = Download(id); }
                catch (QuantTuneException e) { throw new QuantTuneException($"--model {value}: no such local folder or file; as a Hub id: {e.Message}", e); }
                any = true;
            }
        return any;
    }

    static string Download(HubModelId id)
    {
        var settings = HubSettings.FromEnvironment();
        var stderr = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        bool interactive = !Console.IsErrorRedirected && stderr.Profile.Capabilities.Interactive;
        return ProgressDisplay.Run($"downloading {id}", interactive,
            p => HubSnapshot.Resolve(id, settings, new StartedProgress(p), CliHost.Cancellation), stderr);
    }

    /// <summary>Passes progress on once there is something to download (a cached model shows no bar).</summary>
    sealed class StartedProgress(IProgress<(long Done, long Total)> inner) : IProgress<(long Done, long Total)>
    {
        public void Report((long Done, long Total) value)
        {
            if (value.Total > 0) inner.Report(value);
        }
    }
}
