using QuantTune.Models.Loading;
using QuantTune.Quantization;
using QuantTune.Quantization.Layers;
using QuantTune.Quantization.Models;
using static TorchSharp.torch;

namespace QuantTune.Tests.Quantization;

/// <summary>
/// Qwen2's q/k/v biases through every quantizer and the checkpoint format: a bias cloned
/// inside the quantizer's dispose scope was freed with it ("Tensor invalid -- empty handle" in
/// QLoRA/QST on Qwen2, and quantized folders without the biases).
/// </summary>
public sealed class BiasSurvivalTests() : TempFolderTest("qt-bias-")
{
    [Theory]
    [InlineData("nf4", true)]
    [InlineData("fp4", false)]
    [InlineData("int8", false)]
    [InlineData("int4", false)]
    public void QwenBiasesSurviveQuantizationSavingAndLoading(string scheme, bool doubleQuant)
    {
        using var model = PretrainedModel.Load(TestData.TinyQwen2Dir);
        var biases = model.Model.named_parameters().Where(p => p.name.EndsWith(".bias")).ToDictionary(p => p.name, p => p.parameter.detach().clone());
        Assert.NotEmpty(biases);
        ModelQuantizer.Quantize(model.Model, QuantizationSchemes.Create(new SchemeOptions(scheme, DoubleQuant: doubleQuant)), ScalarType.Float32);
        var quantizedBiases = model.Model.named_modules().Where(m => m.module is QuantizedLinear q && q.bias is not null).ToList();
        Assert.Equal(biases.Count, quantizedBiases.Count);
        foreach (var (name, module) in quantizedBiases)
            Assert.True(((QuantizedLinear)module).bias!.allclose(biases[name + ".bias"], rtol: 0, atol: 0), name);

        using var ids = tensor(new long[] { 1, 5, 9, 30, 2, 7 }).unsqueeze(0);
        using var expected = model.Model.Forward(ids);
        var dir = Path.Combine(Dir, scheme);
        QuantizedCheckpoint.Save(model.Model, TestData.TinyQwen2Dir, dir, ScalarType.Float32);
        using var reloaded = PretrainedModel.Load(dir);
        using var logits = reloaded.Model.Forward(ids);
        Assert.True(logits.allclose(expected, rtol: 0, atol: 1e-5), $"{scheme}: max |Δ| {(logits - expected).abs().max().item<float>()}");
        foreach (var b in biases.Values) b.Dispose();
    }
}
