using Xunit.Abstractions;

namespace QuantTune.Tests.Runtime;

/// <summary>
/// The libtorch crash of a fine-tune under load ("Expected false to be true" from
/// c10::Scalar::toFloat in a residual add): a Scalar freed by the finalizer thread while the
/// native call still reads it. These tests find every such site in our assemblies.
/// </summary>
public sealed class ScalarLifetimeTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("QuantTune")]
    [InlineData("QuantTune.Cli")]
    public void No_call_site_lets_a_Scalar_die_during_a_native_call(string assemblyName)
    {
        var directory = AppContext.BaseDirectory;
        var hazardous = ScalarLifetimeAudit.HazardousTorchSharpMethods(Path.Combine(directory, "TorchSharp.dll"));
        var violations = ScalarLifetimeAudit.Violations(Path.Combine(directory, assemblyName + ".dll"), hazardous);
        foreach (var v in violations) output.WriteLine(v);
        Assert.True(violations.Count == 0, $"{violations.Count} unsafe Scalar sites in {assemblyName}:\n" + string.Join("\n", violations.Take(400)));
    }

    [Fact]
    public void The_audit_recognises_the_unsafe_and_the_safe_patterns()
    {
        var directory = AppContext.BaseDirectory;
        var hazardous = ScalarLifetimeAudit.HazardousTorchSharpMethods(Path.Combine(directory, "TorchSharp.dll"));
        Assert.Contains(hazardous, m => m.Contains("Tensor::op_Addition(TorchSharp.torch/Tensor,TorchSharp.torch/Tensor)"));
        Assert.Contains(hazardous, m => m.Contains("Tensor::add(TorchSharp.torch/Tensor)"));
        Assert.DoesNotContain(hazardous, m => m.Contains("Tensor::add(TorchSharp.torch/Tensor,TorchSharp.Scalar)"));
        Assert.DoesNotContain(hazardous, m => m.Contains("Tensor::matmul("));
        var samples = ScalarLifetimeAudit.Violations(typeof(ScalarLifetimeSamples).Assembly.Location, hazardous)
            .Where(v => v.Contains(nameof(ScalarLifetimeSamples))).ToList();
        Assert.Contains(samples, v => v.Contains(nameof(ScalarLifetimeSamples.Unsafe_operator)));
        Assert.Contains(samples, v => v.Contains(nameof(ScalarLifetimeSamples.Unsafe_implicit_scalar)));
        Assert.DoesNotContain(samples, v => v.Contains(nameof(ScalarLifetimeSamples.Safe_using)));
        Assert.DoesNotContain(samples, v => v.Contains(nameof(ScalarLifetimeSamples.Safe_static)));
    }
}
