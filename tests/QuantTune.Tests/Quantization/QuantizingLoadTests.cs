using QuantTune.Models.Layers;
using QuantTune.Models.Loading;
using QuantTune.Quantization.Layers;
using QuantTune.Quantization.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace QuantTune.Tests.Quantization;

/// <summary>
/// Quantizing the backbone while it is read (QLoRA's and QST's load) gives the model that quantizing
/// the loaded model gives: the same packed bytes in every layer, the same parameters elsewhere, the
/// same logits, and nothing left on the meta device.
/// </summary>
public class QuantizingLoadTests
{
    public static TheoryData<string> Families => new() { "tiny-llama", "tiny-qwen2", "tiny-qwen3", "tiny-gpt2", "tiny-phi3", "tiny-gemma2", "tiny-qwen3-moe", "tiny-qwen2-moe", "tiny-mixtral", "tiny-qwen3.5", "tiny-olmo2", "tiny-smollm3", "tiny-granite", "tiny-stablelm", "tiny-gemma4" };

    [Theory]
    [MemberData(nameof(Families))]
    public void QuantizedWhileReadEqualsQuantizedAfter(string family)
    {
        var dir = TestData.Fixture(family);
        using var after = PretrainedModel.Load(dir, ScalarType.Float32);
        var afterResult = ModelQuantizer.QuantizeNf4DoubleQuant(after.Model);
        var layers = LayerQuantizer.Nf4DoubleQuant();
        using var during = PretrainedModel.Load(dir, ScalarType.Float32, quantize: layers);

        Assert.Empty(during.UnusedKeys);
        Assert.Equal(afterResult.Layers.Order(), layers.Result.Layers.Order());
        Assert.NotEmpty(layers.Result.Layers);
        Assert.Equal(afterResult.QuantizedWeightBytes, layers.Result.QuantizedWeightBytes);
        Assert.Equal(afterResult.WeightMse, layers.Result.WeightMse, 12);

        var expected = after.Model.named_modules().Where(m => m.module is QuantizedLinear).ToDictionary(m => m.name, m => (QuantizedLinear)m.module);
        var actual = during.Model.named_modules().Where(m => m.module is QuantizedLinear).ToDictionary(m => m.name, m => (QuantizedLinear)m.module);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, layer) in expected)
        {
            foreach (var (key, tensor) in layer.Weight.Tensors)
                Assert.True(tensor.equal(actual[name].Weight.Tensors[key]).all().item<bool>(), $"{name}: {key} differs");
            Assert.Equal(layer.bias is null, actual[name].bias is null);
            if (layer.bias is not null) Assert.True(layer.bias.equal(actual[name].bias!).all().item<bool>(), $"{name}: bias differs");
        }
        var afterParameters = after.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var duringParameters = during.Model.named_parameters().ToList();
        Assert.Equal(afterParameters.Keys.Order(), duringParameters.Select(p => p.name).Order());
        foreach (var (name, p) in duringParameters)
        {
            Assert.NotEqual(DeviceType.META, p.device_type);
            Assert.True(p.equal(afterParameters[name]).all().item<bool>(), $"{name} differs");
        }
        Assert.DoesNotContain(during.Model.modules(), m => m is Linear { IsPlaceholder: true });

        using var ids = tensor(new long[] { 1, 5, 9, 14, 3, 7 }).unsqueeze(0);
        using var _ = no_grad();
        using var a = after.Model.Forward(ids);
        using var b = during.Model.Forward(ids);
        Assert.True(a.equal(b).all().item<bool>(), "logits differ");
    }

    [Fact]
    public void OnMetaDeviceScopesOnlyTheLayersBuiltInside()
    {
        Linear placeholder, real;
        using (Linear.OnMetaDevice())
        {
            using (Linear.OnMetaDevice()) { }
            placeholder = new Linear(8, 4, hasBias: true, ScalarType.Float32);
        }
        real = new Linear(8, 4, hasBias: true, ScalarType.Float32);
        using (placeholder)
        using (real)
        {
            Assert.True(placeholder.IsPlaceholder);
            Assert.Equal(DeviceType.META, placeholder.bias!.device_type);
            Assert.Equal([4L, 8L], placeholder.weight.shape);
            Assert.False(real.IsPlaceholder);
        }
    }
}
