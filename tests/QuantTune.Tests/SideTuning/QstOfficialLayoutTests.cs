using System.Text.Json.Nodes;
using QuantTune.Models.Loading;
using QuantTune.Quantization.FourBit;
using QuantTune.Quantization.Models;
using QuantTune.SideTuning;
using static TorchSharp.torch;

namespace QuantTune.Tests.SideTuning;

/// <summary>
/// The side network as the official code builds it (YouAreSpecialToMe/QST, modeling_llama_qst.py
/// and QSTConfig.py), checked against that code's structure written out here: num_hidden_layers
/// AdapterLinear downsamplers without biases, downsample[0] applied to the embeddings and again to
/// layer 0's output; and the older QuantTune layout still loading.
/// </summary>
public sealed class QstOfficialLayoutTests() : TempFolderTest("qt-qst-layout-")
{
    static (PretrainedModel Pm, QstModel Qst) Build(QstConfig config)
    {
        var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        ModelQuantizer.Quantize(pm.Model, new FourBitQuantizer(FourBitType.NF4, 64, true), ScalarType.BFloat16);
        return (pm, new QstModel(pm.Model, config, seed: 3));
    }

    [Fact]
    public void TheParametersAreTheOfficialOnes()
    {
        var (pm, qst) = Build(new QstConfig());
        using var _ = pm;
        // tiny-llama: h 256, i 704, 4 layers, 8 heads, 4 KV heads; r 16 → side h 16, i 44, head_dim 2; peft_hidden_size 16.
        const long h = 256, hs = 16, iS = 44, kvWidth = 4 * 2, layers = 4, bottleneck = 16;
        long adapterLinear = h * bottleneck + bottleneck * hs + 2 * hs;     // adapter_A, adapter_B (bias=False), post_layer_norm
        long decoderLayer = hs * hs + 2 * hs * kvWidth + hs * hs + 3 * hs * iS + 2 * hs;
        long expected = layers * adapterLinear + layers * decoderLayer + layers * hs /* z */ + hs /* norm_qst */ + (hs * h + h) /* upsample */ + h /* lm_head_z */;
        Assert.Equal(expected, qst.side.parameters().Sum(p => p.numel()));
        Assert.Equal(4, qst.side.downsamplers.Count);
        Assert.All(qst.side.downsamplers, d => Assert.True(d.down!.bias is null && d.up!.bias is null));
    }

    [Fact]
    public void TheFirstDownsamplerServesTheEmbeddingsAndLayerZero()
    {
        var (pm, qst) = Build(new QstConfig());
        using var _ = pm;
        using var scope = NewDisposeScope();
        using var __ = no_grad();
        var embeddings = randn(1, 5, 256);
        var h0 = randn(1, 5, 256);
        var h1 = randn(1, 5, 256);
        // AdapterLinear.forward: post_layer_norm(adapter_B(swish(adapter_A(x)))).
        Tensor Adapter(int i, Tensor x)
        {
            var d = qst.side.downsamplers[i];
            var y = nn.functional.silu(x.matmul(d.down!.weight.t())).matmul(d.up!.weight.t());
            return nn.functional.layer_norm(y, [16], d.norm!.weight, d.norm.bias, 1e-5);
        }
        var start = qst.side.Start(embeddings);
        Assert.True((start - Adapter(0, embeddings)).abs().max().item<float>() < 1e-5);

        var z = 1 / (1 + Math.Exp(-0.5));
        var (cos, sin) = qst.side.RopeTables(0, 0, 5);
        var afterZero = qst.side.Step(0, start, h0, cos, sin);
        var expectedZero = qst.side.layers[0].Forward(((1 - z) * Adapter(0, h0) + z * start).to_type(ScalarType.Float32), cos, sin, 0, 0, null);
        Assert.True((afterZero - expectedZero).abs().max().item<float>() < 1e-5);

        var afterOne = qst.side.Step(1, afterZero, h1, cos, sin);
        var expectedOne = qst.side.layers[1].Forward(((1 - z) * Adapter(1, h1) + z * afterZero).to_type(ScalarType.Float32), cos, sin, 1, 0, null);
        Assert.True((afterOne - expectedOne).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void ASideNetworkSavedBeforeTheOfficialLayoutStillLoads()
    {
        var folder = Path.Combine(Dir, "side");
        var (pm, qst) = Build(new QstConfig { Layout = DownsamplerLayout.PerInput });
        using var _ = pm;
        Assert.Equal(5, qst.side.downsamplers.Count);
        Assert.NotNull(qst.side.downsamplers[0].down!.bias);
        QstCheckpoint.Save(qst, TestData.TinyLlamaDir, "nf4-block64-dq", folder);
        // The file as the older version wrote it: no downsampler_layout, no freeze_mix.
        var configFile = Path.Combine(folder, QstCheckpoint.ConfigFile);
        var json = JsonNode.Parse(File.ReadAllText(configFile))!.AsObject();
        Assert.Equal("per-input", (string?)json["downsampler_layout"]);
        json.Remove("downsampler_layout");
        json.Remove("freeze_mix");
        File.WriteAllText(configFile, json.ToJsonString());

        var info = QstCheckpoint.ReadInfo(folder);
        var (pm2, qst2) = Build(QstCheckpoint.ConfigOf(info));
        using var __ = pm2;
        Assert.Equal(DownsamplerLayout.PerInput, qst2.Qst.Layout);
        QstCheckpoint.LoadWeights(qst2, folder);
        using var scope = NewDisposeScope();
        using var ___ = no_grad();
        var ids = randint(0, 4096, [1, 12], dtype: ScalarType.Int64);
        Assert.True((qst.Forward(ids) - qst2.Forward(ids)).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void FreezeMixKeepsLambdaOutOfTheGradientAndIsRecorded()
    {
        var (pm, qst) = Build(new QstConfig { FreezeMix = true });
        using var _ = pm;
        using (var scope = NewDisposeScope())
        {
            var ids = randint(0, 4096, [2, 16], dtype: ScalarType.Int64);
            nn.functional.cross_entropy(qst.Forward(ids).reshape(-1, 4096), ids.reshape(-1)).backward();
        }
        Assert.False(qst.side.mix.requires_grad);
        Assert.Null(qst.side.mix.grad);
        Assert.All(qst.side.named_parameters().Where(p => p.name != "mix"), p => Assert.NotNull(p.parameter.grad));

        var folder = Path.Combine(Dir, "frozen");
        QstCheckpoint.Save(qst, TestData.TinyLlamaDir, "nf4-block64-dq", folder);
        var config = QstCheckpoint.ConfigOf(QstCheckpoint.ReadInfo(folder));
        Assert.True(config.FreezeMix);
        Assert.Equal(DownsamplerLayout.Official, config.Layout);
    }

    [Fact]
    public void AnUnknownLayoutNamesTheFileAndTheField()
    {
        var folder = Path.Combine(Dir, "bad");
        var (pm, qst) = Build(new QstConfig());
        using var _ = pm;
        QstCheckpoint.Save(qst, TestData.TinyLlamaDir, "nf4-block64-dq", folder);
        var configFile = Path.Combine(folder, QstCheckpoint.ConfigFile);
        File.WriteAllText(configFile, File.ReadAllText(configFile).Replace("\"official\"", "\"sideways\""));
        var e = Assert.ThrowsAny<QuantTune.Diagnostics.QuantTuneException>(() => QstCheckpoint.ReadInfo(folder));
        Assert.Contains("qst_config.json", e.Message);
        Assert.Contains("downsampler_layout", e.Message);
        Assert.Contains("sideways", e.Message);
    }
}
