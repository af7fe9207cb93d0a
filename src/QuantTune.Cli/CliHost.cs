using System.CommandLine;
using QuantTune.Diagnostics;
using Spectre.Console;

namespace QuantTune.Cli;

/// <summary>
/// Runs the command line and turns failures into one clear line on stderr and a non-zero exit
/// code: 1 for bad input or a failed check the user can fix, 2 for usage errors, 3 for an
/// internal error (the stack trace only with QUANTTUNE_DEBUG=1), 130 when interrupted. A library
/// error that names a setting names the option that sets it (<see cref="SettingOptions"/>).
/// </summary>
public static class CliHost
{
    public static int Run(RootCommand root, string[] args)
    {
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
        Cancellation = cancel.Token;
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var line in ParseErrorLines(parse, args)) Console.Error.WriteLine($"error: {line}");
            Console.Error.WriteLine("Run 'quanttune --help' (or the command with --help) for usage.");
            return 2;
        }
        try
        {
            if (ModelSources.ResolveHubIds(parse)) parse = root.Parse(args);
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e)
        {
            return Report(e);
        }
    }

    public static CancellationToken Cancellation { get; private set; }

    /// <summary>
    /// The parser's errors, an unknown option with the option it most likely meant; the value
    /// that followed an unknown option is not reported again as a second unknown argument.
    /// </summary>
    static IEnumerable<string> ParseErrorLines(ParseResult parse, string[] args)
    {
        var command = parse.CommandResult.Command;
        var unknown = parse.UnmatchedTokens.ToHashSet();
        var valuesOfUnknown = new HashSet<string>();
        for (int i = 0; i + 1 < args.Length; i++)
            if (args[i].StartsWith('-') && unknown.Contains(args[i]) && !args[i + 1].StartsWith('-')) valuesOfUnknown.Add(args[i + 1]);
        foreach (var e in parse.Errors)
        {
            var token = unknown.FirstOrDefault(t => e.Message.Contains($"'{t}'", StringComparison.Ordinal));
            if (token is null) { yield return e.Message; continue; }
            if (!token.StartsWith('-'))
            {
                if (!valuesOfUnknown.Contains(token)) yield return e.Message;
                continue;
            }
            var suggestion = OptionSuggestions.For(token, command);
            yield return $"{token}: '{command.Name}' has no such option" + (suggestion is null ? "" : $"; did you mean {suggestion}?");
        }
    }

    static int Report(Exception e)
    {
        switch (e)
        {
            case OperationCanceledException:
                Console.Error.WriteLine("interrupted");
                return 130;
            case TypeInitializationException { TypeName: "TorchSharp.torch" }:
                Console.Error.WriteLine("error: libtorch could not be loaded: " + (e.InnerException?.Message.Split('\n', 2)[0] ?? e.Message));
                Console.Error.WriteLine("A build made with -p:LibTorch=external has no libtorch of its own: put one on LD_LIBRARY_PATH " +
                    "(for example the lib folder of a CUDA PyTorch installation: python3 -c \"import torch, os; print(os.path.dirname(torch.__file__))\" + /lib).");
                return 1;
            case QuantTuneException q:
                Console.Error.WriteLine($"error: {SettingOptions.Describe(q)}");
                return 1;
            case FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or IOException:
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            default:
                // libtorch's messages carry a C++ backtrace after the first line.
                var firstLine = e.Message.Split('\n', 2)[0];
                Console.Error.WriteLine($"internal error: {e.GetType().Name}: {firstLine}");
                if (Environment.GetEnvironmentVariable("QUANTTUNE_DEBUG") == "1") Console.Error.WriteLine(e);
                else Console.Error.WriteLine("(set QUANTTUNE_DEBUG=1 for the stack trace)");
                return 3;
        }
    }

    /// <summary>Live output (progress bars) only on an interactive terminal and when not writing JSON.</summary>
    public static bool Interactive(bool json) =>
        !json && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
}
