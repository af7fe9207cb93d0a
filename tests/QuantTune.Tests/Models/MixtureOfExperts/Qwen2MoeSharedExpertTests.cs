using System.Text.Json.Nodes;
using QuantTune.Models.Loading;
using QuantTune.Models.Transformer;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models.MixtureOfExperts;

/// <summary>
/// Qwen2-MoE's shared expert on tiny-qwen2-moe: it is built in every sparse layer (and only there)
/// with its gate, under the checkpoint's names; with shared_expert_intermediate_size 0 the model has
/// none, leaves the checkpoint's shared-expert tensors unused and follows the NumPy port's logits
/// without the shared expert to 1e-4.
/// </summary>
public sealed class Qwen2MoeSharedExpertTests(ITestOutputHelper output) : TempFolderTest("qt-moe-shared-")
{
    const double Tolerance = 1e-4;

    [Fact]
    public void EverySparseLayerHasAGatedSharedExpertUnderTheCheckpointsNames()
    {
        using var model = PretrainedModel.Load(TestData.TinyQwen2MoeDir);
        var shared = model.Config.Experts!.Shared!;
        Assert.Equal(64, shared.IntermediateSize);
        Assert.True(shared.Gated);
        var names = model.Model.named_parameters().Select(p => p.name).ToHashSet();
        foreach (int layer in new[] { 0, 2 })
        {
            Assert.Contains($"model.layers.{layer}.mlp.shared_expert.gate_proj.weight", names);
            Assert.Contains($"model.layers.{layer}.mlp.shared_expert.down_proj.weight", names);
            Assert.Contains($"model.layers.{layer}.mlp.shared_expert_gate.weight", names);
        }
        Assert.DoesNotContain(names, n => n.StartsWith("model.layers.1.mlp.shared_expert"));
        Assert.Empty(model.UnusedKeys);
        Assert.Equal(2, model.Model.modules().OfType<SparseMoeBlock>().Count(b => b.shared_expert is not null && b.shared_expert_gate is not null));
    }

    [Fact]
    public void WithoutTheSharedExpertTheModelFollowsTheReferenceWithoutIt()
    {
        using var reference = new ReferenceOutputs(TestData.TinyQwen2MoeDir);
        int positions = reference.Json.GetProperty("quirk_logits").GetProperty("positions").GetInt32();
        var folder = Path.Combine(Dir, "without-shared-expert");
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.GetFiles(TestData.TinyQwen2MoeDir)) File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!.AsObject();
        config["shared_expert_intermediate_size"] = 0;
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        using var model = PretrainedModel.Load(folder);
        Assert.Null(model.Config.Experts!.Shared);
        Assert.Equal(8, model.UnusedKeys.Count); // the shared expert's three projections and its gate, in layers 0 and 2
        using var scope = NewDisposeScope();
        Tensor logits;
        using (inference_mode()) logits = model.Model.Forward(reference.Get("input_ids.0").unsqueeze(0));
        double error = (logits[0].narrow(0, 0, positions) - reference.Get("logits.0.without_shared_expert")).abs().max().item<float>();
        output.WriteLine($"without the shared expert: max |logits - reference| = {error:E2}");
        Assert.True(error <= Tolerance, $"logits differ by {error}");
    }
}
