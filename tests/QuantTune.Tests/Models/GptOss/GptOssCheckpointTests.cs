using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.Models.Loading;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models.GptOss;

/// <summary>
/// gpt-oss's expert tensors: MXFP4 bytes decode as the OCP format says (low nibble first, E8M0 exponent − 127); the
/// plain layout transformers' dequantized save writes (gate_up_proj [experts, hidden, 2 × width] with gate and up
/// interleaved, down_proj [experts, width, hidden]) loads the same model as the MXFP4 fixture, to the reference's logits,
/// nothing unused; a wrongly shaped expert tensor is refused by its key.
/// </summary>
public sealed class GptOssCheckpointTests(ITestOutputHelper output) : TempFolderTest("qt-gptoss-")
{
    [Fact]
    public void Mxfp4BytesDecodeLowNibbleFirstUnderTheirExponent()
    {
        // 0x1F: low nibble 15 (−6), high nibble 1 (0.5); 0xA4: 4 (2) then 10 (−1); the block's exponent 128 doubles them.
        var bytes = new byte[16];
        bytes[0] = 0x1F;
        bytes[1] = 0xA4;
        using var blocks = tensor(bytes, [1, 16]);
        using var scales = tensor(new byte[] { 128 }, [1, 1]);
        using var values = Mxfp4.Dequantize(blocks, scales);
        var v = values.data<float>().ToArray();
        Assert.Equal(32, v.Length);
        Assert.Equal(new[] { -12f, 1f, 4f, -2f }, v[..4]);
        Assert.All(v[4..], x => Assert.Equal(0f, x));
        using var small = tensor(new byte[] { 125 }, [1, 1]);
        using var quarter = Mxfp4.Dequantize(blocks, small);
        Assert.Equal(-1.5f, quarter.data<float>()[0]);
    }

    /// <summary>A copy of tiny-gpt-oss whose experts are the dequantized gate_up_proj / down_proj (and <paramref name="width"/> to write a wrong shape).</summary>
    string PlainCopy(long? width = null)
    {
        var folder = Path.Combine(Dir, width is null ? "plain" : "wrong");
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.GetFiles(TestData.TinyGptOssDir).Where(f => !f.EndsWith("model.safetensors")))
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        using var scope = NewDisposeScope();
        using var checkpoint = SafetensorsCheckpoint.Open(TestData.TinyGptOssDir);
        var tensors = new Dictionary<string, Tensor>();
        foreach (var name in checkpoint.Names)
        {
            if (name.EndsWith("_scales", StringComparison.Ordinal)) continue;
            if (!name.EndsWith("_blocks", StringComparison.Ordinal)) { tensors[name] = checkpoint.ToTensor(name); continue; }
            // convert_moe_packed_tensors: [E, R, G, 16] bytes → [E, R, G·32] values, then transpose(1, 2)
            string fused = name[..^"_blocks".Length];
            var blocks = checkpoint.ToTensor(name);
            var scales = checkpoint.ToTensor(fused + "_scales");
            long e = blocks.shape[0], r = blocks.shape[1];
            var dense = Mxfp4.Dequantize(blocks.reshape(e * r, -1), scales.reshape(e * r, -1)).reshape(e, r, -1).transpose(1, 2).contiguous();
            tensors[fused] = width is long w && fused.EndsWith("down_proj") ? dense.narrow(1, 0, w).contiguous() : dense;
        }
        SafetensorsWriter.Write(Path.Combine(folder, "model.safetensors"), tensors);
        // transformers' dequantized save drops quantization_config
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!.AsObject();
        Assert.True(config.Remove("quantization_config"));
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        return folder;
    }

    [Fact]
    public void ThePlainLayoutLoadsTheReferenceModel()
    {
        var plain = PlainCopy();
        using var model = PretrainedModel.Load(plain);
        Assert.Empty(model.UnusedKeys);
        using var reference = new ReferenceOutputs(TestData.TinyGptOssDir);
        using var scope = NewDisposeScope();
        Tensor logits;
        using (inference_mode()) logits = model.Model.Forward(reference.Get("input_ids.0").unsqueeze(0));
        double error = (logits[0] - reference.Get("logits.0")).abs().max().item<float>();
        output.WriteLine($"plain layout: max |logits - reference| = {error:E2}");
        Assert.True(error < 1e-4, $"logits differ by {error}");

        var wrong = PlainCopy(width: 32);
        var refused = Assert.ThrowsAny<QuantTuneException>(() => PretrainedModel.Load(wrong).Dispose());
        output.WriteLine(refused.Message);
        Assert.Contains("model.layers.0.mlp.experts.down_proj", refused.Message);
        Assert.Contains("intermediate_size", refused.Message);
    }
}
