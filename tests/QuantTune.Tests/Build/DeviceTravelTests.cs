using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using QuantTune.Fuzz;

namespace QuantTune.Tests.Build;

/// <summary>
/// A device call sends the working tree that bench/gpu/travel.sh leaves in place plus the .gpu
/// bundle, and the device tool refuses more than 64 MiB. `travel.sh plan` adds up exactly what would
/// travel (the files bench/gpu/travel.list keeps, and the bundle's size as bench/gpu/bundle.sh last
/// recorded it where no .gpu is built); these tests keep that total under 60 MiB, so a fixture or a
/// bundle that grows past it fails here rather than on the device.
/// </summary>
public sealed partial class DeviceTravelTests
{
    [GeneratedRegex(@"= ([0-9.]+) MiB")]
    private static partial Regex Total();

    static (int Code, string Output) Travel(string verb, string? limitMib = null)
    {
        var psi = new ProcessStartInfo("bash") { WorkingDirectory = RepositoryRoot.Find(), RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine("bench", "gpu", "travel.sh"));
        psi.ArgumentList.Add(verb);
        if (limitMib is not null) psi.Environment["QT_TRAVEL_LIMIT_MIB"] = limitMib;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    [Fact]
    public void WhatADeviceCallSendsStaysUnder60MiB()
    {
        Assert.True(File.Exists(Path.Combine(RepositoryRoot.Find(), "bench", "gpu", "bundle-size.txt")), "bench/gpu/bundle-size.txt (written by bench/gpu/bundle.sh) is missing");
        var (code, output) = Travel("plan");
        Assert.True(code == 0, output);
        var total = double.Parse(Total().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        // The bundle alone is about 21 MiB: a total below it would mean the bundle was not counted.
        Assert.InRange(total, 20.0, 60.0);
    }

    [Fact]
    public void ThePlanFailsAboveItsLimit()
    {
        var (code, output) = Travel("plan", limitMib: "1");
        Assert.Equal(1, code);
        Assert.Contains("over 1 MiB", output);
    }
}
