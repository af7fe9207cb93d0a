using System.Diagnostics;

namespace QuantTune.Tests.Cli;

/// <summary>Runs the quanttune CLI as a separate process, as a user would, and captures its output.</summary>
public static class CliRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(params string[] args) => RunWith(new Dictionary<string, string>(), args);

    /// <summary>Runs with <paramref name="input"/> piped to standard input (then closed).</summary>
    public static Result RunWithInput(string input, params string[] args) => RunWith(new Dictionary<string, string>(), args, input);

    /// <summary>Runs with extra environment variables (for example the test hooks of QuantTune.IO).</summary>
    public static Result RunWith(IReadOnlyDictionary<string, string> environment, params string[] args) => RunWith(environment, args, null);

    /// <summary>Runs in <paramref name="workingDirectory"/> (for relative paths as a user types them), with extra environment variables.</summary>
    public static Result RunIn(string workingDirectory, IReadOnlyDictionary<string, string> environment, params string[] args) =>
        RunWith(environment, args, null, workingDirectory);

    static Result RunWith(IReadOnlyDictionary<string, string> environment, string[] args, string? input, string? workingDirectory = null)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var psi = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = input is not null,
            UseShellExecute = false,
        };
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "QuantTune.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["QUANTTUNE_DEBUG"] = "0";
        foreach (var (name, value) in environment) psi.Environment[name] = value;
        using var p = Process.Start(psi)!;
        if (input is not null)
        {
            p.StandardInput.Write(input);
            p.StandardInput.Close();
        }
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"quanttune {string.Join(' ', args)} did not finish");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>A failed run must say what is wrong in one place, without a .NET or C++ stack trace.</summary>
    public static void AssertCleanFailure(Result r, params string[] mentions)
    {
        Assert.Equal(1, r.ExitCode);
        // Progress lines (the phases of a run) may come first; the failure is one "error: " line.
        Assert.Single(r.Stderr.Split('\n'), l => l.StartsWith("error: ", StringComparison.Ordinal));
        foreach (var m in mentions) Assert.Contains(m, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.DoesNotContain("frame #", r.Stderr);
        Assert.DoesNotContain("Unhandled exception", r.Stderr);
    }

    /// <summary>A usage error (exit 2): one "error: " line that names what is wrong, no stack trace.</summary>
    public static void AssertUsageError(Result r, params string[] mentions)
    {
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(r.Stderr.Split('\n'), l => l.StartsWith("error: ", StringComparison.Ordinal));
        foreach (var m in mentions) Assert.Contains(m, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }
}
