using System.Text.Json.Nodes;
using QuantTune.Models.Loading;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models.MixtureOfExperts;

/// <summary>
/// The mixture of experts' quirks matter on tiny-qwen3-moe: with norm_topk_prob off, or with one
/// expert per token, the NumPy port's logits move far from the fixture's, and the model built from
/// the config with that one key changed follows them to 1e-4 (the key is read and used).
/// </summary>
public sealed class Qwen3MoeQuirkTests(ITestOutputHelper output) : TempFolderTest("qt-moe-quirk-")
{
    const double Tolerance = 1e-4;

    [Theory]
    [InlineData("without_norm_topk_prob", "norm_topk_prob", false)]
    [InlineData("top1", "num_experts_per_tok", 1)]
    public void RemovingAQuirkMovesTheLogitsAndTheModelFollowsTheReference(string variant, string key, object value)
    {
        using var reference = new ReferenceOutputs(TestData.TinyQwen3MoeDir);
        int positions = reference.Json.GetProperty("quirk_logits").GetProperty("positions").GetInt32();
        using var scope = NewDisposeScope();
        var withQuirk = reference.Get("logits.0").narrow(0, 0, positions);
        var without = reference.Get($"logits.0.{variant}");
        double moved = (withQuirk - without).abs().max().item<float>();
        output.WriteLine($"{variant}: the reference logits move by {moved:E2}");
        Assert.True(moved > 100 * Tolerance, $"removing {key} moves the reference logits by only {moved}");

        var folder = Path.Combine(Dir, variant);
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.GetFiles(TestData.TinyQwen3MoeDir)) File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!.AsObject();
        config[key] = JsonValue.Create(value);
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        using var model = PretrainedModel.Load(folder);
        Tensor logits;
        using (inference_mode()) logits = model.Model.Forward(reference.Get("input_ids.0").unsqueeze(0));
        double error = (logits[0].narrow(0, 0, positions) - without).abs().max().item<float>();
        output.WriteLine($"  the model with {key} = {value}: max |logits - reference| = {error:E2}");
        Assert.True(error <= Tolerance, $"logits differ by {error}");
    }
}
