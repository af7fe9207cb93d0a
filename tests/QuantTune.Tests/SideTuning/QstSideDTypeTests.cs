using System.Text.Json.Nodes;
using QuantTune.Formats.Safetensors;
using QuantTune.Models.Config;
using QuantTune.Models.Layers;
using QuantTune.Models.Loading;
using QuantTune.Quantization.FourBit;
using QuantTune.Quantization.Models;
using QuantTune.SideTuning;
using QuantTune.Training;
using QuantTune.Training.FineTuning;
using QuantTune.Training.Memory;
using QuantTune.Training.Optimizers;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.SideTuning;

/// <summary>
/// <c>--side-dtype bf16</c>: the side network and the backbone states fed to it in bf16, as the
/// official run keeps them (qst.py converts every module to bf16, then those named "norm" back to
/// fp32), with AdamW's moments in fp32 as bitsandbytes' 32-bit optimizers keep them.
/// </summary>
public sealed class QstSideDTypeTests(ITestOutputHelper output) : TempFolderTest("qt-qst-dtype-")
{
    static PretrainedModel Backbone()
    {
        var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        ModelQuantizer.Quantize(pm.Model, new FourBitQuantizer(FourBitType.NF4, 64, true), ScalarType.Float32);
        return pm;
    }

    static QstModel Side(PretrainedModel pm, ScalarType dtype) => new(pm.Model, new QstConfig { SideDType = dtype }, seed: 5);

    /// <summary>The names of the side network's parameters that belong to a norm (RMSNorm, q/k norms, the downsamplers' LayerNorm).</summary>
    static HashSet<string> NormParameters(SideNetwork side) =>
        side.named_modules().Where(m => m.module is RmsNorm or LayerNorm)
            .SelectMany(m => m.module.named_parameters().Select(p => m.name + "." + p.name)).ToHashSet();

    [Fact]
    public void EveryWeightButTheNormsIsTheFp32InitialisationRoundedToBf16()
    {
        using var pm = Backbone();
        var f32 = Side(pm, ScalarType.Float32);
        var bf16 = Side(pm, ScalarType.BFloat16);
        var norms = NormParameters(bf16.side);
        Assert.Contains("norm.weight", norms);
        Assert.Contains("layers.0.input_layernorm.weight", norms);
        Assert.Contains("downsamplers.0.norm.bias", norms);
        var reference = f32.side.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var parameters = bf16.side.named_parameters().ToList();
        Assert.Equal(reference.Count, parameters.Count);
        foreach (var (name, p) in parameters)
        {
            using var scope = NewDisposeScope();
            var expected = norms.Contains(name) ? reference[name] : reference[name].to_type(ScalarType.BFloat16);
            Assert.True(p.dtype == (norms.Contains(name) ? ScalarType.Float32 : ScalarType.BFloat16), $"{name}: {p.dtype}");
            Assert.True(p.eq(expected).all().item<bool>(), name);
            Assert.Equal(reference[name].requires_grad, p.requires_grad);
        }
    }

    [Fact]
    public void TheFedStatesAreBf16AndTheLogitsFollowTheFp32SideNetwork()
    {
        using var pm = Backbone();
        var f32 = Side(pm, ScalarType.Float32);
        var bf16 = Side(pm, ScalarType.BFloat16);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = randint(0, 4096, [2, 24], dtype: ScalarType.Int64, generator: new Generator(11));
        var states = bf16.RunBackbone(ids);
        Assert.Equal(ScalarType.BFloat16, states.Embeddings.dtype);
        Assert.All(states.Fed, s => Assert.Equal(ScalarType.BFloat16, s.dtype));
        Assert.Equal(ScalarType.BFloat16, states.FinalNormed.dtype);

        var a = f32.Forward(ids);
        var b = bf16.Forward(ids);
        Assert.Equal(ScalarType.Float32, b.dtype);
        Assert.True(b.isfinite().all().item<bool>());
        // bf16 keeps 8 significant bits: the logits agree to a few bf16 ulps of their scale, and a random side network alone would not.
        double scale = a.abs().max().item<float>(), difference = (a - b).abs().max().item<float>();
        output.WriteLine($"max |logit| {scale:F3}, max |fp32 − bf16| {difference:F4}");
        Assert.True(difference < 0.05 * scale, $"{difference} against {scale}");
        Assert.True(difference > 0, "the bf16 side network computes in bf16");
    }

    [Fact]
    public void AdamWOnABf16ParameterKeepsFp32MomentsAndRoundsOnceAStep()
    {
        using var scope = NewDisposeScope();
        var start = new float[] { 0.5f, -1.25f, 3.0f, 0.001f, -0.75f, 2.5f };
        var p = new Parameter(tensor(start).to_type(ScalarType.BFloat16));
        var grads = new[] { new float[] { 0.1f, -0.2f, 0.3f, 1e-4f, 0.05f, -0.5f }, new float[] { -0.05f, 0.1f, 0.2f, -2e-4f, 0.01f, 0.4f }, new float[] { 0.2f, 0.3f, -0.1f, 1e-3f, -0.02f, 0.1f } };
        const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
        using var optimizer = new AdamWOptimizer([("p", p)], new AdamWOptions(lr, WeightDecay: wd));
        Assert.Equal(start.Length * 2 * sizeof(float), optimizer.StateBytes);

        // The reference: PyTorch's AdamW in doubles on the bf16 value, the moments kept unrounded, the parameter rounded to bf16 after each step.
        var value = p.to_type(ScalarType.Float32).data<float>().Select(v => (double)v).ToArray();
        var m = new double[start.Length];
        var v2 = new double[start.Length];
        for (int step = 1; step <= grads.Length; step++)
        {
            var g = tensor(grads[step - 1]).to_type(ScalarType.BFloat16);
            p.grad = g;
            optimizer.Step();
            var gd = g.to_type(ScalarType.Float32).data<float>().ToArray();
            for (int i = 0; i < start.Length; i++)
            {
                value[i] *= 1 - lr * wd;
                m[i] = b1 * m[i] + (1 - b1) * gd[i];
                v2[i] = b2 * v2[i] + (1 - b2) * gd[i] * gd[i];
                value[i] -= lr / (1 - Math.Pow(b1, step)) * m[i] / (Math.Sqrt(v2[i]) / Math.Sqrt(1 - Math.Pow(b2, step)) + eps);
                value[i] = tensor((float)value[i]).to_type(ScalarType.BFloat16).to_type(ScalarType.Float32).item<float>();
            }
            Assert.Equal(ScalarType.BFloat16, p.dtype);
            var actual = p.to_type(ScalarType.Float32).data<float>().ToArray();
            for (int i = 0; i < start.Length; i++)
                Assert.True(Math.Abs(actual[i] - value[i]) <= Math.Abs(value[i]) / 128, $"step {step}, element {i}: {actual[i]} against {value[i]}");
        }
    }

    [Fact]
    public void ASavedBf16SideNetworkRecordsItsDtypeAndLoadsBackWithTheSameLogits()
    {
        var folder = Path.Combine(Dir, "side");
        Tensor expected;
        var ids = randint(0, 4096, [1, 16], dtype: ScalarType.Int64, generator: new Generator(3));
        using (var pm = Backbone())
        {
            var qst = Side(pm, ScalarType.BFloat16);
            using (no_grad()) foreach (var p in qst.side.parameters()) p.add_(randn_like(p) * 0.01); // trained, not the initialisation
            using (no_grad()) expected = qst.Forward(ids).DetachFromDisposeScope();
            QstCheckpoint.Save(qst, TestData.TinyLlamaDir, "nf4-block64-dq", folder);
        }
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, QstCheckpoint.ConfigFile)))!;
        Assert.Equal("bf16", (string?)json["side_dtype"]);
        using (var file = SafetensorsFile.Open(Path.Combine(folder, QstCheckpoint.WeightsFile)))
        {
            Assert.Equal(SafetensorsDType.BF16, file.Tensors["side.up.weight"].DType);
            Assert.Equal(SafetensorsDType.BF16, file.Tensors["side.layers.0.self_attn.q_proj.weight"].DType);
            Assert.Equal(SafetensorsDType.F32, file.Tensors["side.norm.weight"].DType);
            Assert.Equal(SafetensorsDType.F32, file.Tensors["side.downsamplers.0.norm.weight"].DType);
        }
        using var fresh = Backbone();
        var loaded = QstLoader.Attach(fresh, folder);
        Assert.Equal(ScalarType.BFloat16, loaded.Qst.SideDType);
        using var _ = no_grad();
        Assert.True(loaded.Forward(ids).eq(expected).all().item<bool>());
    }

    [Theory]
    [InlineData(null, ScalarType.Float32)]
    [InlineData("fp32", ScalarType.Float32)]
    [InlineData("bf16", ScalarType.BFloat16)]
    public void AConfigWithoutSideDtypeIsAnFp32SideNetwork(string? recorded, ScalarType expected)
    {
        var folder = Path.Combine(Dir, "cfg-" + (recorded ?? "none"));
        using (var pm = Backbone()) QstCheckpoint.Save(Side(pm, ScalarType.Float32), TestData.TinyLlamaDir, "nf4-block64-dq", folder);
        var path = Path.Combine(folder, QstCheckpoint.ConfigFile);
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        json.Remove("side_dtype");
        if (recorded is not null) json["side_dtype"] = recorded;
        File.WriteAllText(path, json.ToJsonString());
        Assert.Equal(expected, QstCheckpoint.ConfigOf(QstCheckpoint.ReadInfo(folder)).SideDType);
    }

    [Fact]
    public void AnUnknownSideDtypeNamesTheFileAndTheField()
    {
        var folder = Path.Combine(Dir, "bad");
        using (var pm = Backbone()) QstCheckpoint.Save(Side(pm, ScalarType.Float32), TestData.TinyLlamaDir, "nf4-block64-dq", folder);
        var path = Path.Combine(folder, QstCheckpoint.ConfigFile);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"side_dtype\": \"fp32\"", "\"side_dtype\": \"fp8\""));
        var e = Assert.ThrowsAny<QuantTune.Diagnostics.QuantTuneException>(() => QstCheckpoint.ReadInfo(folder));
        Assert.Contains(path, e.Message);
        Assert.Contains("side_dtype", e.Message);
        Assert.Contains("fp8", e.Message);
    }

    [Fact]
    public void ThePlannerCountsTheBf16SideNetworkAsItIsBuilt()
    {
        using var pm = Backbone();
        var bf16 = Side(pm, ScalarType.BFloat16);
        long built = bf16.side.parameters().Sum(p => p.numel() * p.ElementSize);
        long asF32 = bf16.side.parameters().Sum(p => p.numel() * 4);
        PlanRequest Request(ScalarType side) => new(pm.Config, "qst", 2, 64) { ElementBytes = 4, Qst = new QstConfig { SideDType = side } };
        var plan32 = MemoryPlanner.Plan(Request(ScalarType.Float32));
        var plan16 = MemoryPlanner.Plan(Request(ScalarType.BFloat16));
        Assert.Equal(plan32.TrainableParameters, plan16.TrainableParameters);
        // The weights and their gradients shrink by what the built network saves; the fp32 moments do not.
        Assert.Equal(asF32 - built, plan32.M1 - plan16.M1);
        Assert.Equal(asF32 - built, plan32.M2 - plan16.M2);
        Assert.True(plan16.M3 < plan32.M3);
    }

    [Fact]
    public void FineTuningABf16SideNetworkLowersHeldOutPerplexity()
    {
        var data = Path.Combine(Dir, "s.txt");
        TinyShakespeare.WriteSlice(data, 60_000);
        var s = FineTuner.Run(new FineTuneRequest
        {
            ModelDirectory = TestData.TinyLlamaDir, DataFile = data, OutputDirectory = Path.Combine(Dir, "run"), Method = FineTuneMethod.Qst,
            SequenceLength = 64, MaxEvalExamples = 16, Qst = new QstConfig { SideDType = ScalarType.BFloat16 },
            Training = new TrainingOptions { Steps = 12, BatchSize = 4, LearningRate = 3e-3, Seed = 7, EvalEvery = 12, Schedule = ScheduleKind.Constant },
        });
        output.WriteLine($"bf16 side: {s.EvalPerplexityBefore:F2} → {s.EvalPerplexityAfter:F2}");
        Assert.True(s.EvalPerplexityAfter < s.EvalPerplexityBefore, $"{s.EvalPerplexityBefore} → {s.EvalPerplexityAfter}");
        Assert.Equal("bf16", (string?)JsonNode.Parse(File.ReadAllText(Path.Combine(s.ResultDirectory, QstCheckpoint.ConfigFile)))!["side_dtype"]);
    }
}
