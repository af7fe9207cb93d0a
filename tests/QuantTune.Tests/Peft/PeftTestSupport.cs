using QuantTune.Models.Transformer;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Tests.Peft;

/// <summary>Shared pieces of the PEFT method tests: token ids, finite differences, perturbation, temp folders.</summary>
internal static class PeftTestSupport
{
    /// <summary>Fixed token ids [2, 12] inside tiny-llama's vocabulary.</summary>
    public static Tensor Ids()
    {
        using var g = new Generator(1234);
        return randint(4, 4096, [2, 12], generator: g, dtype: ScalarType.Int64);
    }

    public static Tensor Logits(CausalLM model, Tensor ids)
    {
        using var _ = no_grad();
        return model.Forward(ids);
    }

    /// <summary>Exact equality of two logits tensors (init must not change a single bit).</summary>
    public static void AssertIdentical(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.shape, actual.shape);
        double diff = (expected - actual).abs().max().item<float>();
        Assert.True(diff == 0, $"logits differ by up to {diff}");
    }

    /// <summary>Moves every trainable parameter by a random amount, so that a round trip is tested on non-trivial values.</summary>
    public static void PerturbTrainable(nn.Module model, ulong seed)
    {
        using var _ = no_grad();
        using var g = new Generator(seed);
        foreach (var p in model.parameters().Where(p => p.requires_grad))
        {
            using var noise = randn(p.shape, ScalarType.Float32, generator: g).to_type(p.dtype).to(p.device);
            p.add_(noise * 0.05);
        }
    }

    /// <summary>
    /// Checks d loss / d tensor for each tensor against central finite differences (float64):
    /// |analytic − numeric| ≤ rtol·max(|analytic|, |numeric|) + 1e-9 per element.
    /// </summary>
    public static void GradCheck(Func<Tensor> loss, IReadOnlyList<Tensor> inputs, double eps = 1e-6, double rtol = 1e-5)
    {
        using var scope = NewDisposeScope();
        foreach (var t in inputs) Assert.Equal(ScalarType.Float64, t.dtype);
        foreach (var t in inputs) t.grad?.zero_();
        using (var l = loss()) l.backward();
        var analytic = inputs.Select(t => t.grad!.clone()).ToList();
        using var _ = no_grad();
        for (int i = 0; i < inputs.Count; i++)
        {
            var flat = inputs[i].view(-1);
            var a = analytic[i].view(-1);
            for (long j = 0; j < flat.shape[0]; j++)
            {
                double original = flat[j].item<double>();
                flat[j].fill_(original + eps);
                double plus = loss().item<double>();
                flat[j].fill_(original - eps);
                double minus = loss().item<double>();
                flat[j].fill_(original);
                double numeric = (plus - minus) / (2 * eps);
                double analyticValue = a[j].item<double>();
                double bound = rtol * Math.Max(Math.Abs(analyticValue), Math.Abs(numeric)) + 1e-9;
                Assert.True(Math.Abs(analyticValue - numeric) <= bound,
                    $"input {i}, element {j}: analytic {analyticValue}, numeric {numeric}");
            }
        }
    }

    /// <summary>A folder under the temp directory, deleted on dispose.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "quanttune-peft-" + Guid.NewGuid().ToString("N"));
        public TempDir() => Directory.CreateDirectory(Path);
        public string Sub(string name) => System.IO.Path.Combine(Path, name);
        public void Dispose()
        {
            try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
        }
    }

    public static long Trainable(nn.Module m) => m.parameters().Where(p => p.requires_grad).Sum(p => p.numel());

    public static IEnumerable<Parameter> Frozen(nn.Module m) => m.parameters().Where(p => !p.requires_grad);
}
