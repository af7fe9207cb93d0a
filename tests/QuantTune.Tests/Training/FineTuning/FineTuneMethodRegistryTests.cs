using QuantTune.Models.Loading;
using QuantTune.Peft;
using QuantTune.Peft.Registry;
using QuantTune.Quantization.Models;
using QuantTune.SideTuning;
using QuantTune.Training;
using QuantTune.Training.FineTuning;
using QuantTune.Training.FineTuning.Methods;
using QuantTune.Training.Memory;
using static TorchSharp.torch;

namespace QuantTune.Tests.Training.FineTuning;

/// <summary>
/// Every registered fine-tuning method, taken from the registry (so a method added without one of these fails
/// here): it fine-tunes through the trainer and saves its result where it says; what it saves reads back to the
/// same logits through the reader of its kind (a PEFT adapter by its peft_type, a QST side folder, a checkpoint);
/// and where the memory planner models it, the planner counts the trainable parameters the applied method has.
/// </summary>
public sealed class FineTuneMethodRegistryTests() : TempFolderTest("qt-methods-")
{
    public static TheoryData<string> Methods => new(FineTuneMethodRegistry.All.Select(m => m.Name));

    static IFineTuneMethod ByName(string name) => FineTuneMethodRegistry.All.Single(m => m.Name == name);

    FineTuneRequest Request(IFineTuneMethod method, string output) => new()
    {
        ModelDirectory = TestData.TinyLlamaDir,
        DataFile = TinyShakespeare.FilePath,
        OutputDirectory = output,
        Method = method.Id,
        SequenceLength = 32,
        MaxEvalExamples = 2,
        VirtualTokens = 4,
        Bottleneck = 8,
        Training = new TrainingOptions { Steps = 2, BatchSize = 2, LearningRate = 1e-3, CheckpointEvery = 0 },
    };

    [Fact]
    public void EveryMethodHasOneEntryAndEveryAdapterKindAReader()
    {
        Assert.Equal(Enum.GetValues<FineTuneMethod>().Order(), FineTuneMethodRegistry.All.Select(m => m.Id).Order());
        Assert.Equal(FineTuneMethodRegistry.All.Count, FineTuneMethodRegistry.All.Select(m => m.Name).Distinct().Count());
        foreach (var m in FineTuneMethodRegistry.All.Where(m => m.PeftType is not null))
            Assert.True(PeftAdapterTypes.Find(m.PeftType!) is not null, $"{m.Name} saves peft_type {m.PeftType}, which no reader takes");
        Assert.Equal(FineTuneMethods.Names.Split(", "), FineTuneMethodRegistry.All.Select(m => m.Name));
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void FineTunesAndSavesItsResultWhereItSays(string name)
    {
        var method = ByName(name);
        var summary = FineTuner.Run(Request(method, Path.Combine(Dir, name)));
        Assert.Equal(name, summary.Method);
        Assert.Equal(Path.Combine(Dir, name, method.ResultFolder), summary.ResultDirectory);
        Assert.True(Directory.EnumerateFiles(summary.ResultDirectory).Any());
        Assert.True(double.IsFinite(summary.EvalPerplexityAfter));
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void WhatItSavesReadsBackToTheSameLogits(string name)
    {
        var method = ByName(name);
        var request = Request(method, Dir);
        manual_seed(7);
        using var ids = randint(0, 4000, [2, 16], ScalarType.Int64);
        Tensor expected;
        string folder;
        using (var pm = PretrainedModel.Load(TestData.TinyLlamaDir))
        {
            if (method.QuantizesBackbone) ModelQuantizer.QuantizeNf4DoubleQuant(pm.Model);
            var applied = method.Apply(request, pm, qat: null);
            using var wrapper = ReferenceEquals(applied.Module, pm.Model) ? null : applied.Module;
            using (no_grad())
            {
                // As training would: every trainable value moves off its initialisation (LoRA's B starts at zero).
                manual_seed(8);
                foreach (var p in applied.Module.parameters().Where(p => p.requires_grad)) p.add_(randn_like(p) * 0.05);
                // A whole checkpoint is stored in the source's dtype (tiny-llama's config says bfloat16), as it came.
                if (method.ResultFolder == "model")
                    foreach (var p in applied.Module.parameters()) p.copy_(p.to_type(pm.Config.StoredScalarType).to_type(p.dtype));
                expected = applied.Forward.Head(applied.Forward.Hidden(ids)).detach().clone();
            }
            folder = applied.Save(Dir);
        }
        Assert.Equal(Path.Combine(Dir, method.ResultFolder), folder);

        using (expected)
        using (no_grad())
        {
            using var actual = ReadBack(method, folder, ids);
            Assert.True(actual.allclose(expected, rtol: 1e-4, atol: 1e-4), $"{name}: max |diff| {(actual - expected).abs().max().item<float>()}");
        }
    }

    /// <summary>The result read as a user reads it: a checkpoint folder, a QST side folder, or an adapter by its peft_type.</summary>
    static Tensor ReadBack(IFineTuneMethod method, string folder, Tensor ids)
    {
        if (method.PeftType is null && !method.QuantizesBackbone)
        {
            using var full = PretrainedModel.Load(folder);
            return full.Model.Forward(ids);
        }
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        if (method.PeftType is null) return QstLoader.Attach(pm, folder).Forward(ids);
        if (method.QuantizesBackbone) ModelQuantizer.QuantizeNf4DoubleQuant(pm.Model);
        var (peftType, forward, _) = AnyAdapter.Load(pm.Model, folder);
        Assert.Equal(method.PeftType, peftType);
        return forward(ids);
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void ThePlannerCountsWhatTheMethodTrains(string name)
    {
        var method = ByName(name);
        var request = Request(method, Dir);
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        if (method.Plan(pm.Config, 2, 32) is not { } planRequest)
        {
            Assert.Contains(name, new[] { "adapter", "ia3", "prompt", "bitfit" }); // the planner models full, LoRA/DoRA/QLoRA and QST
            return;
        }
        if (method.QuantizesBackbone) ModelQuantizer.QuantizeNf4DoubleQuant(pm.Model);
        var applied = method.Apply(request, pm, qat: null);
        using var wrapper = ReferenceEquals(applied.Module, pm.Model) ? null : applied.Module;
        long trainable = applied.Module.parameters().Where(p => p.requires_grad).Sum(p => p.numel());
        var plan = MemoryPlanner.Plan(planRequest with { LoraRank = request.Rank, Qst = request.Qst });
        Assert.Equal(trainable, plan.TrainableParameters);
    }
}
