using System.Text.Json.Nodes;
using QuantTune.Formats.Safetensors;
using QuantTune.Models.Loading;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models.Qwen35;

/// <summary>
/// Qwen3.5's quirks matter on tiny-qwen3.5: removing any one of them from the NumPy port (the
/// attention's output gate, the norms' 1 + w, the convolution, the L2 norm of queries and keys,
/// the grouping of value heads, the partial RoPE) moves its logits far beyond the parity
/// tolerance, so the parity tests would catch a model that lacked it; the one a config key holds
/// (partial_rotary_factor) is followed by the model. And the text model of a <c>qwen3_5</c>
/// image-text checkpoint (weights under model.language_model, a vision tower and MTP weights
/// beside them) gives the text model's logits.
/// </summary>
public sealed class Qwen35QuirkTests(ITestOutputHelper output) : TempFolderTest("qt-qwen35-")
{
    const double Tolerance = 1e-4;

    [Theory]
    [InlineData("without_output_gate")]
    [InlineData("norm_without_one_plus")]
    [InlineData("without_conv1d")]
    [InlineData("without_qk_l2norm")]
    [InlineData("value_heads_tiled")]
    [InlineData("full_rotary")]
    public void RemovingAQuirkMovesTheReferenceLogits(string variant)
    {
        using var reference = new ReferenceOutputs(TestData.TinyQwen35Dir);
        int positions = reference.Json.GetProperty("quirk_logits").GetProperty("positions").GetInt32();
        using var scope = NewDisposeScope();
        double moved = (reference.Get("logits.0").narrow(0, 0, positions) - reference.Get($"logits.0.{variant}")).abs().max().item<float>();
        output.WriteLine($"{variant}: the reference logits move by {moved:E2}");
        Assert.True(moved > 100 * Tolerance, $"removing {variant} moves the reference logits by only {moved}");
    }

    [Fact]
    public void TheModelFollowsTheReferenceWithFullRotary()
    {
        using var reference = new ReferenceOutputs(TestData.TinyQwen35Dir);
        int positions = reference.Json.GetProperty("quirk_logits").GetProperty("positions").GetInt32();
        var folder = Copy("full-rotary");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!.AsObject();
        config["rope_parameters"]!["partial_rotary_factor"] = 1.0;
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        using var model = PretrainedModel.Load(folder);
        using var scope = NewDisposeScope();
        Tensor logits;
        using (inference_mode()) logits = model.Model.Forward(reference.Get("input_ids.0").unsqueeze(0));
        double error = (logits[0].narrow(0, 0, positions) - reference.Get("logits.0.full_rotary")).abs().max().item<float>();
        output.WriteLine($"partial_rotary_factor 1: max |logits - reference| = {error:E2}");
        Assert.True(error <= Tolerance, $"logits differ by {error}");
    }

    [Fact]
    public void TheTextModelOfAnImageTextCheckpointIsLoaded()
    {
        var folder = Copy("image-text");
        var text = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!.AsObject();
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("Qwen3_5ForConditionalGeneration"),
            ["model_type"] = "qwen3_5",
            ["text_config"] = text.DeepClone(),
            ["vision_config"] = new JsonObject { ["model_type"] = "qwen3_5_vision", ["depth"] = 1 },
        };
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        using (var scope = NewDisposeScope())
        {
            var tensors = new Dictionary<string, Tensor>();
            using (var checkpoint = SafetensorsCheckpoint.Open(TestData.TinyQwen35Dir))
                foreach (var name in checkpoint.Names)
                    tensors[name.StartsWith("model.", StringComparison.Ordinal) ? "model.language_model." + name["model.".Length..] : name] = checkpoint.ToTensor(name);
            tensors["model.visual.patch_embed.proj.weight"] = zeros(4, 3);
            tensors["mtp.fc.weight"] = zeros(2, 2);
            SafetensorsWriter.Write(Path.Combine(folder, "model.safetensors"), tensors);
        }
        using var reference = new ReferenceOutputs(TestData.TinyQwen35Dir);
        using var model = PretrainedModel.Load(folder);
        Assert.Equal("qwen3_5", model.Config.ModelType);
        using var s = NewDisposeScope();
        Tensor logits;
        using (inference_mode()) logits = model.Model.Forward(reference.Get("input_ids.0").unsqueeze(0));
        double error = (logits[0] - reference.Get("logits.0")).abs().max().item<float>();
        Assert.True(error <= Tolerance, $"logits differ by {error}");
    }

    string Copy(string name)
    {
        var folder = Path.Combine(Dir, name);
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.GetFiles(TestData.TinyQwen35Dir)) File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        return folder;
    }
}
