using System.Diagnostics;
using System.Reflection;
using System.Text.Json;

namespace QuantTune.Bench;

/// <summary>
/// Runs this benchmark program again as a child process (a fresh process for each measured way, so its
/// memory figures are its own) and reads the JSON object it writes to standard output.
/// </summary>
static class ChildProcess
{
    public static JsonElement Run(string mode, params string[] arguments)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath ?? "dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(psi.FileName) == "dotnet") psi.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"the {mode} run exited with {p.ExitCode}");
        return JsonDocument.Parse(stdout).RootElement.Clone();
    }
}
