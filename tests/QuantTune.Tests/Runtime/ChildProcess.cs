using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace QuantTune.Tests.Runtime;

/// <summary>
/// Runs a <see cref="TestProcessEntry"/> command in a child process of this test assembly. When the
/// child dies of a crash, the runtime writes a crash report (DOTNET_EnableCrashReport) next to a
/// minidump in <c>folder</c>; <see cref="Result.Describe"/> gives the crashing thread's frames from
/// it, so that a crash seen once, on a CI machine, can be found from the log alone.
/// </summary>
public static class ChildProcess
{
    public sealed record Result(int ExitCode, string Output, string? CrashStack)
    {
        public string Describe() =>
            $"exit code {ExitCode}" + (CrashStack is null ? "" : $"\ncrashing thread:\n{CrashStack}") +
            $"\noutput (last 4,000 characters):\n{(Output.Length > 4000 ? Output[^4000..] : Output)}";
    }

    public static Result Run(string folder, TimeSpan timeout, params string[] args)
    {
        var assembly = typeof(TestProcessEntry).Assembly.Location;
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = folder,
        };
        psi.ArgumentList.Add("exec");
        psi.ArgumentList.Add(assembly);
        foreach (var a in args) psi.ArgumentList.Add(a);
        var dump = Path.Combine(folder, "crash.dmp");
        psi.Environment["DOTNET_DbgEnableMiniDump"] = "1";
        psi.Environment["DOTNET_DbgMiniDumpType"] = "1"; // mini: threads and stacks, no heap
        psi.Environment["DOTNET_DbgMiniDumpName"] = dump;
        psi.Environment["DOTNET_EnableCrashReport"] = "1";
        using var p = Process.Start(psi)!;
        var output = new StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            return new Result(-1, $"timed out after {timeout}\n{output}", null);
        }
        p.WaitForExit(); // the redirected streams' last lines
        var report = dump + ".crashreport.json";
        string? stack = File.Exists(report) ? CrashingThread(File.ReadAllText(report)) : null;
        if (File.Exists(dump)) File.Delete(dump);
        lock (output) return new Result(p.ExitCode, output.ToString(), stack);
    }

    /// <summary>The crashing thread's frames from a .NET crash report: managed methods by name, native ones by module and offset.</summary>
    internal static string CrashingThread(string reportJson)
    {
        using var doc = JsonDocument.Parse(reportJson);
        var root = doc.RootElement;
        var lines = new List<string>();
        if (root.TryGetProperty("parameters", out var parameters))
            lines.Add(string.Join(", ", parameters.EnumerateObject().Select(p => $"{p.Name} {p.Value}")));
        if (root.TryGetProperty("payload", out var payload) && payload.TryGetProperty("threads", out var threads))
        {
            foreach (var thread in threads.EnumerateArray())
            {
                if (!(thread.TryGetProperty("crashed", out var crashed) && crashed.ToString() == "true")) continue;
                if (thread.TryGetProperty("managed_exception_type", out var type) && type.GetString() is { Length: > 0 } t)
                    lines.Add($"managed exception {t}");
                if (!thread.TryGetProperty("stack_frames", out var frames)) continue;
                foreach (var f in frames.EnumerateArray().Take(60))
                {
                    string Get(string name) => f.TryGetProperty(name, out var v) ? v.ToString() : "";
                    var method = Get("method_name");
                    lines.Add(method.Length > 0 ? $"  {Get("filename")} {method}"
                        : $"  {Get("native_module")} {(Get("unmanaged_name") is { Length: > 0 } name ? name : "+" + Get("native_image_offset"))}");
                }
            }
        }
        return string.Join('\n', lines);
    }
}
