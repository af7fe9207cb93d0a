using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.Models.Loading;
using QuantTune.Quantization.Layers;
using QuantTune.Quantization.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models.MixtureOfExperts;

/// <summary>
/// A mixture-of-experts checkpoint re-saved in transformers 5's fused layout (each sparse layer's
/// <c>mlp.experts.gate_up_proj</c> [experts, 2 × width, hidden], gate rows first, and
/// <c>mlp.experts.down_proj</c> [experts, hidden, width]) loads into the same model: identical
/// weights and logits, nothing unused, and the same NF4 layers when quantized while read; a fused
/// tensor of the wrong shape is refused by its key.
/// </summary>
public sealed class FusedExpertsTests(ITestOutputHelper output) : TempFolderTest("qt-moe-fused-")
{
    /// <summary>
    /// A copy of <paramref name="fixture"/> whose experts are stored fused; <paramref name="width"/> overrides the fused width (a wrong shape).
    /// Mixtral's as transformers 5's conversion_mapping.py moves them: block_sparse_moe.experts.N.{w1,w3} into mlp.experts.gate_up_proj,
    /// w2 into mlp.experts.down_proj, the router block_sparse_moe.gate to mlp.gate.
    /// </summary>
    string FusedCopy(string fixture, long? width = null)
    {
        var source = TestData.Fixture(fixture);
        var folder = Path.Combine(Dir, fixture + (width is null ? "" : "-wrong"));
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.GetFiles(source).Where(f => !f.EndsWith("model.safetensors"))) File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>();
        using var checkpoint = SafetensorsCheckpoint.Open(source);
        var experts = new SortedDictionary<string, SortedDictionary<int, Dictionary<string, Tensor>>>(StringComparer.Ordinal);
        foreach (var name in checkpoint.Names)
        {
            var parts = name.Replace(".block_sparse_moe.", ".mlp.", StringComparison.Ordinal).Split('.');
            int i = Array.IndexOf(parts, "experts");
            if (i < 0) { tensors[string.Join('.', parts)] = checkpoint.ToTensor(name); continue; }
            string block = string.Join('.', parts[..(i + 1)]);
            int e = int.Parse(parts[i + 1]);
            if (!experts.TryGetValue(block, out var byExpert)) experts[block] = byExpert = new();
            if (!byExpert.TryGetValue(e, out var projections)) byExpert[e] = projections = new();
            projections[parts[i + 2] switch { "w1" => "gate_proj", "w3" => "up_proj", "w2" => "down_proj", var p => p }] = checkpoint.ToTensor(name);
        }
        foreach (var (block, byExpert) in experts)
        {
            var gateUp = stack(byExpert.Values.Select(p => cat([p["gate_proj"], p["up_proj"]], 0)).ToArray());
            tensors[block + ".gate_up_proj"] = width is long w ? gateUp.narrow(1, 0, 2 * w).contiguous() : gateUp;
            tensors[block + ".down_proj"] = stack(byExpert.Values.Select(p => p["down_proj"]).ToArray());
        }
        SafetensorsWriter.Write(Path.Combine(folder, "model.safetensors"), tensors);
        return folder;
    }

    [Theory]
    [InlineData("tiny-qwen3-moe")]
    [InlineData("tiny-qwen2-moe")]
    [InlineData("tiny-mixtral")]
    public void TheFusedLayoutLoadsTheSameModel(string fixture)
    {
        var fused = FusedCopy(fixture);
        using (var file = SafetensorsFile.Open(Path.Combine(fused, "model.safetensors")))
        {
            Assert.Contains("model.layers.0.mlp.experts.gate_up_proj", file.Tensors.Keys);
            Assert.Contains("model.layers.0.mlp.gate.weight", file.Tensors.Keys);
            Assert.DoesNotContain(file.Tensors.Keys, k => k.Contains(".experts.0.", StringComparison.Ordinal) || k.Contains("block_sparse_moe", StringComparison.Ordinal));
        }
        using var separate = PretrainedModel.Load(TestData.Fixture(fixture));
        using var model = PretrainedModel.Load(fused);
        Assert.Empty(model.UnusedKeys);
        var expected = separate.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in model.Model.named_parameters())
            Assert.True(p.equal(expected[name]).all().item<bool>(), name);
        using var reference = new ReferenceOutputs(TestData.Fixture(fixture));
        using var scope = NewDisposeScope();
        var ids = reference.Get("input_ids.0").unsqueeze(0);
        Tensor a, b;
        using (inference_mode())
        {
            a = separate.Model.Forward(ids);
            b = model.Model.Forward(ids);
        }
        double diff = (a - b).abs().max().item<float>();
        output.WriteLine($"{fixture}: max |logits(fused) - logits(separate)| = {diff}");
        Assert.True(a.equal(b).all().item<bool>());
    }

    [Fact]
    public void QuantizedWhileReadFromTheFusedLayoutEqualsTheSeparateLayout()
    {
        var fused = FusedCopy("tiny-qwen3-moe");
        var fromSeparate = LayerQuantizer.Nf4DoubleQuant();
        using var separate = PretrainedModel.Load(TestData.TinyQwen3MoeDir, ScalarType.Float32, quantize: fromSeparate);
        var fromFused = LayerQuantizer.Nf4DoubleQuant();
        using var model = PretrainedModel.Load(fused, ScalarType.Float32, quantize: fromFused);
        Assert.Empty(model.UnusedKeys);
        Assert.Equal(fromSeparate.Result.Layers.Order(), fromFused.Result.Layers.Order());
        Assert.Contains("model.layers.2.mlp.experts.7.up_proj", fromFused.Result.Layers);
        Assert.Equal(fromSeparate.Result.QuantizedWeightBytes, fromFused.Result.QuantizedWeightBytes);
        Assert.Equal(fromSeparate.Result.WeightMse, fromFused.Result.WeightMse, 12);
        var expected = separate.Model.named_modules().Where(m => m.module is QuantizedLinear).ToDictionary(m => m.name, m => (QuantizedLinear)m.module);
        foreach (var (name, module) in model.Model.named_modules().Where(m => m.module is QuantizedLinear))
            foreach (var (key, tensor) in ((QuantizedLinear)module).Weight.Tensors)
                Assert.True(tensor.equal(expected[name].Weight.Tensors[key]).all().item<bool>(), $"{name} {key}");
    }

    [Fact]
    public void AFusedTensorOfTheWrongShapeIsRefusedByItsKey()
    {
        var wrong = FusedCopy("tiny-qwen3-moe", width: 16);
        var e = Assert.Throws<InvalidFormatException>(() => PretrainedModel.Load(wrong));
        output.WriteLine(e.Message);
        Assert.Contains("model.layers.0.mlp.experts.gate_up_proj", e.Message);
        Assert.Contains("[8, 64, 64]", e.Message);
    }
}
