using System.Diagnostics;

namespace QuantTune.Tests.Build;

/// <summary>
/// A console project outside this repository that references the library, as a user's would:
/// it builds without this repository's Directory.Build files, and it runs on Debian 12 because
/// the library patches its copy of libLibTorchSharp.so when it is loaded. With the patch turned
/// off the same program fails to load libtorch where the system libstdc++ lacks GLIBCXX_3.4.32.
/// </summary>
public sealed class ExternalConsumerTests() : TempFolderTest("qt-consumer-")
{
    static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "QuantTune.slnx"))) return d.FullName;
        throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }

    static (int Code, string Output) Dotnet(string workingDirectory, IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(8))) { p.Kill(true); throw new TimeoutException("dotnet " + string.Join(' ', args)); }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    [Fact]
    public void AProjectReferencingTheLibraryFromOutsideTheRepositoryRuns()
    {
        var library = Path.Combine(RepoRoot(), "src", "QuantTune", "QuantTune.csproj");
        var app = Path.Combine(Dir, "app");
        Directory.CreateDirectory(app);
        File.WriteAllText(Path.Combine(app, "app.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><Nullable>enable</Nullable><ImplicitUsings>enable</ImplicitUsings></PropertyGroup>
              <ItemGroup><ProjectReference Include="{library}" /></ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using QuantTune.Models.Loading;
            using var pm = PretrainedModel.Load(args[0]);
            var ids = pm.Tokenizer.Encode("The history of the", addSpecialTokens: true);
            using var input = TorchSharp.torch.tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Count]);
            using var logits = pm.Model.Forward(input);
            Console.WriteLine($"vocab {logits.shape[^1]} argmax {logits[0, -1].argmax().item<long>()}");
            """);
        var build = Dotnet(app, null, "build", "-c", "Release", "-o", Path.Combine(app, "out"));
        Assert.True(build.Code == 0, build.Output);
        var exe = Path.Combine(app, "out", "app.dll");
        var lib = Directory.GetFiles(Path.Combine(app, "out"), "libLibTorchSharp.so", SearchOption.AllDirectories).Single();
        var pristine = File.ReadAllBytes(lib);

        if (OperatingSystem.IsLinux() && ElfVersionPatch.SystemLacks(QuantTune.Runtime.LibTorchSharpPatch.VersionName, ElfVersionPatch.SystemLibraries))
        {
            var unpatched = Dotnet(app, new Dictionary<string, string> { [QuantTune.Runtime.LibTorchSharpPatch.OptOutVariable] = "1" }, exe, TestData.TinyLlamaDir);
            Assert.NotEqual(0, unpatched.Code);
            Assert.Equal(pristine, File.ReadAllBytes(lib));
        }
        var run = Dotnet(app, null, exe, TestData.TinyLlamaDir);
        Assert.True(run.Code == 0, run.Output);
        Assert.Contains("vocab 4096 argmax", run.Output);
    }
}
