using System.Text.Json.Nodes;
using QuantTune.Formats.Safetensors;
using QuantTune.Models.Loading;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models.Gemma4;

/// <summary>
/// Gemma 4's quirks matter on tiny-gemma4: removing any one from the NumPy port (the per-layer inputs, proportional RoPE
/// on a quarter of the global heads, the final soft-cap, layer_scalar, v_norm) moves its logits beyond the parity
/// tolerance, and where a config key or a weight holds the quirk the model follows the changed reference. The text
/// model of a <c>gemma4</c> checkpoint (weights under model.language_model, vision and audio towers beside them) gives
/// the text model's logits and leaves the towers' tensors unused.
/// </summary>
public sealed class Gemma4QuirkTests(ITestOutputHelper output) : TempFolderTest("qt-gemma4-")
{
    const double Tolerance = 1e-4;

    [Theory]
    [InlineData("without_per_layer_input")]
    [InlineData("full_rotary_global")]
    [InlineData("without_softcap")]
    [InlineData("without_layer_scalar")]
    [InlineData("without_v_norm")]
    public void RemovingAQuirkMovesTheReferenceLogits(string variant)
    {
        using var reference = new ReferenceOutputs(TestData.TinyGemma4Dir);
        int positions = reference.Json.GetProperty("quirk_logits").GetProperty("positions").GetInt32();
        using var scope = NewDisposeScope();
        double moved = (reference.Get("logits.0").narrow(0, 0, positions) - reference.Get($"logits.0.{variant}")).abs().max().item<float>();
        output.WriteLine($"{variant}: the reference logits move by {moved:E2}");
        Assert.True(moved > 100 * Tolerance, $"removing {variant} moves the reference logits by only {moved}");
    }

    [Theory]
    [InlineData("without_per_layer_input")]
    [InlineData("full_rotary_global")]
    [InlineData("without_softcap")]
    public void TheModelFollowsAQuirkItsConfigRemoves(string variant)
    {
        var folder = Copy(variant);
        var path = Path.Combine(folder, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        switch (variant)
        {
            case "without_per_layer_input": config["hidden_size_per_layer_input"] = 0; break;
            case "full_rotary_global": config["rope_parameters"]!["full_attention"]!["partial_rotary_factor"] = 1.0; break;
            default: config["final_logit_softcapping"] = null; break;
        }
        File.WriteAllText(path, config.ToJsonString());
        using var model = PretrainedModel.Load(folder);
        if (variant == "without_per_layer_input")
            Assert.Contains("model.embed_tokens_per_layer.weight", model.UnusedKeys);
        AssertFollows(model, variant);
    }

    [Fact]
    public void TheModelFollowsLayerScalarsOfOne()
    {
        using var model = PretrainedModel.Load(TestData.TinyGemma4Dir);
        using (no_grad())
            foreach (var layer in model.Model.model.layers)
                layer.layer_scalar!.fill_(1.0);
        AssertFollows(model, "without_layer_scalar");
    }

    [Fact]
    public void TheTextModelOfAnImageAudioTextCheckpointIsLoaded()
    {
        var folder = Copy("multimodal");
        var text = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!.AsObject();
        text.Remove("architectures");
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("Gemma4ForConditionalGeneration"),
            ["model_type"] = "gemma4",
            ["text_config"] = text.DeepClone(),
            ["vision_config"] = new JsonObject { ["model_type"] = "gemma4_vision", ["num_hidden_layers"] = 1 },
            ["audio_config"] = new JsonObject { ["model_type"] = "gemma4_audio", ["num_hidden_layers"] = 1 },
        };
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        using (var scope = NewDisposeScope())
        {
            var tensors = new Dictionary<string, Tensor>();
            using (var checkpoint = SafetensorsCheckpoint.Open(TestData.TinyGemma4Dir))
                foreach (var name in checkpoint.Names)
                    tensors["model.language_model." + name["model.".Length..]] = checkpoint.ToTensor(name);
            tensors["model.vision_tower.encoder.layers.0.mlp.up_proj.linear.weight"] = zeros(4, 3);
            tensors["model.audio_tower.output_proj.weight"] = zeros(2, 2);
            tensors["model.embed_vision.embedding_projection.weight"] = zeros(2, 2);
            SafetensorsWriter.Write(Path.Combine(folder, "model.safetensors"), tensors);
        }
        using var model = PretrainedModel.Load(folder);
        Assert.Equal("gemma4", model.Config.ModelType);
        Assert.Equal(["model.audio_tower.output_proj.weight", "model.embed_vision.embedding_projection.weight", "model.vision_tower.encoder.layers.0.mlp.up_proj.linear.weight"],
            model.UnusedKeys);
        using var reference = new ReferenceOutputs(TestData.TinyGemma4Dir);
        using var s = NewDisposeScope();
        Tensor logits;
        using (inference_mode()) logits = model.Model.Forward(reference.Get("input_ids.0").unsqueeze(0));
        double error = (logits[0] - reference.Get("logits.0")).abs().max().item<float>();
        Assert.True(error <= Tolerance, $"logits differ by {error}");
    }

    void AssertFollows(PretrainedModel model, string variant)
    {
        using var reference = new ReferenceOutputs(TestData.TinyGemma4Dir);
        int positions = reference.Json.GetProperty("quirk_logits").GetProperty("positions").GetInt32();
        using var scope = NewDisposeScope();
        Tensor logits;
        using (inference_mode()) logits = model.Model.Forward(reference.Get("input_ids.0").unsqueeze(0));
        double error = (logits[0].narrow(0, 0, positions) - reference.Get($"logits.0.{variant}")).abs().max().item<float>();
        output.WriteLine($"{variant}: max |logits - reference| = {error:E2}");
        Assert.True(error <= Tolerance, $"{variant}: logits differ by {error}");
    }

    string Copy(string name)
    {
        var folder = Path.Combine(Dir, name);
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.GetFiles(TestData.TinyGemma4Dir)) File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        return folder;
    }
}
