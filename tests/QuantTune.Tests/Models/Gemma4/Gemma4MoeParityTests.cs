using System.Text.Json.Nodes;
using QuantTune.Models.Loading;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models.Gemma4;

/// <summary>
/// tiny-gemma4-moe (Gemma 4's mixture of experts beside each layer's dense MLP) against tools/family-fixtures/numpy_gemma4.py:
/// logits and hidden states of two sequences, greedy generation through the KV cache, perplexity; and the block's quirks:
/// removing any one from the NumPy port (the whole block, router.scale, per_expert_scale, the router's RMS norm, the three
/// extra norms) moves its logits beyond the parity tolerance, and where a config key or a weight holds the quirk the model
/// follows the changed reference.
/// </summary>
public sealed class TinyGemma4MoeParityTests(ITestOutputHelper output) : ModelParityTests(TestData.TinyGemma4MoeDir, output)
{
    const double Tolerance = 1e-4;

    [Fact]
    public void RemovingAQuirkMovesTheReferenceAndTheModelFollowsTheOnesItHolds()
    {
        int positions = Reference.Json.GetProperty("quirk_logits").GetProperty("positions").GetInt32();
        using (var scope = NewDisposeScope())
            foreach (var quirk in new[] { "without_moe_block", "without_router_scale", "without_per_expert_scale", "without_router_norm", "without_moe_norms" })
            {
                double moved = (Reference.Get("logits.0").narrow(0, 0, positions) - Reference.Get($"logits.0.{quirk}")).abs().max().item<float>();
                Output.WriteLine($"{quirk}: the reference logits move by {moved:E2}");
                Assert.True(moved > 100 * Tolerance, $"removing {quirk} moves the reference logits by only {moved}");
            }
        var layers = Model.Model.model.layers.ToList();
        using (no_grad())
        {
            var perExpert = layers.Select(l => l.router!.per_expert_scale.clone()).ToList();
            foreach (var l in layers) l.router!.per_expert_scale.fill_(1.0);
            AssertFollows(Model, "without_per_expert_scale", positions);
            for (int i = 0; i < layers.Count; i++) layers[i].router!.per_expert_scale.copy_(perExpert[i]);
            foreach (var t in perExpert) t.Dispose();
            foreach (var l in layers) l.router!.scale.fill_(1.0);
        }
        AssertFollows(Model, "without_router_scale", positions);

        var folder = Path.Combine(Path.GetTempPath(), $"qt-gemma4-moe-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            foreach (var file in Directory.GetFiles(TestData.TinyGemma4MoeDir)) File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
            var path = Path.Combine(folder, "config.json");
            var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            config["enable_moe_block"] = false;
            File.WriteAllText(path, config.ToJsonString());
            using var dense = PretrainedModel.Load(folder);
            Assert.Null(dense.Config.Experts);
            Assert.Contains("model.layers.0.experts.gate_up_proj", dense.UnusedKeys);
            Assert.Contains("model.layers.2.router.per_expert_scale", dense.UnusedKeys);
            AssertFollows(dense, "without_moe_block", positions);
        }
        finally { Directory.Delete(folder, true); }
    }

    void AssertFollows(PretrainedModel model, string quirk, int positions)
    {
        using var scope = NewDisposeScope();
        Tensor logits;
        using (inference_mode()) logits = model.Model.Forward(Reference.Get("input_ids.0").unsqueeze(0));
        double error = (logits[0].narrow(0, 0, positions) - Reference.Get($"logits.0.{quirk}")).abs().max().item<float>();
        Output.WriteLine($"{quirk}: max |logits - reference| = {error:E2}");
        Assert.True(error <= Tolerance, $"{quirk}: logits differ by {error}");
    }
}
