using QuantTune.Models.Config;
using QuantTune.Training;
using QuantTune.Training.FineTuning;
using QuantTune.Training.Memory;
using Xunit.Abstractions;

namespace QuantTune.Tests.Training.Memory;

[Collection(SerialCollection.Name)]
public sealed class MemoryPlannerTests(ITestOutputHelper output)
{
    static ModelConfig Config(string name) => ModelConfig.Load(Path.Combine(AppContext.BaseDirectory, "assets", "configs", name));
    const double GB = 1e9;

    [Fact]
    public void SeventyBillionWeightsAndOptimizerMatchThePaper()
    {
        // QST paper, LLaMA-2-70B: full FT M1 140 GB, M2 420 GB; QLoRA M1 36 GB; QST M1 36 GB.
        var c = Config("llama-2-70b.json");
        var full = MemoryPlanner.Plan(new PlanRequest(c, "full", 1, 1024));
        var qlora = MemoryPlanner.Plan(new PlanRequest(c, "qlora", 1, 1024));
        var qst = MemoryPlanner.Plan(new PlanRequest(c, "qst", 1, 1024));
        output.WriteLine($"full {full.M1 / GB:F0}+{full.M2 / GB:F0}+{full.M3 / GB:F0}; qlora {qlora.M1 / GB:F0}+{qlora.M2 / GB:F1}+{qlora.M3 / GB:F0}; qst {qst.M1 / GB:F0}+{qst.M2 / GB:F1}+{qst.M3 / GB:F0}");
        Assert.InRange(full.M1 / GB, 135, 145);
        Assert.InRange(full.M2 / GB, 405, 435);
        // + 0.83 B LoRA parameters (r = 64 on every linear layer) held in fp32: 3.3 GB more than the paper counts.
        Assert.InRange(qlora.M1 / GB, 34, 41);
        Assert.InRange(qst.M1 / GB, 34, 39);
        Assert.True(qst.M2 < qlora.M2 && qlora.M2 < full.M2 / 10);
        Assert.True(qst.M3 < qlora.M3 / 2, "QST keeps no backbone activations");
        Assert.True(qst.Peak < qlora.Peak && qlora.Peak < full.Peak);
    }

    [Fact]
    public void BudgetSaysWhichMethodsFit()
    {
        var c = Config("llama-2-7b.json");
        var plans = MemoryPlanner.Methods.Select(m => MemoryPlanner.Plan(new PlanRequest(c, m, 4, 512))).ToDictionary(p => p.Method);
        output.WriteLine(string.Join("; ", plans.Values.Select(p => $"{p.Method} {p.Peak / GB:F1} GB")));
        long budget = 24L << 30;
        Assert.False(plans["full"].Fits(budget));
        Assert.True(plans["qst"].Fits(budget));
        Assert.True(plans["qst"].Peak < plans["qlora"].Peak / 2);
    }

    /// <summary>The prediction against a measured run on tiny-llama (CPU, fp32, math attention kernel).</summary>
    [Theory]
    [InlineData("lora")]
    [InlineData("qlora")]
    [InlineData("qst")]
    public void PredictionIsWithinAThirdOfTheMeasurementOnTinyLlama(string method)
    {
        var dir = Directory.CreateTempSubdirectory("qt-plan-").FullName;
        try
        {
            var data = Path.Combine(dir, "data.txt");
            TinyShakespeare.WriteSlice(data, 80_000);
            var s = FineTuner.Run(new FineTuneRequest
            {
                ModelDirectory = TestData.TinyLlamaDir, DataFile = data, OutputDirectory = Path.Combine(dir, "run"),
                Method = FineTuneMethods.Parse(method), SequenceLength = 128, Rank = 8, Dropout = 0.05, MaxEvalExamples = 4,
                Training = new TrainingOptions { Steps = 3, BatchSize = 8, LearningRate = 1e-3 },
            });
            var plan = MemoryPlanner.Plan(new PlanRequest(QuantTune.Models.Config.ModelConfig.Load(TestData.TinyLlamaDir), method, 8, 128)
            { ElementBytes = 4, LoraRank = 8, AttentionProbabilitiesKept = true });
            output.WriteLine($"{method}: M1 {plan.M1} vs {s.Memory.M1}, M2 {plan.M2} vs {s.Memory.M2}, M3 {plan.M3} vs {s.Memory.M3}, peak {plan.Peak} vs {s.Memory.StepPeak}");
            Assert.Equal(s.TrainableParameters, plan.TrainableParameters);
            Assert.InRange((double)plan.M1 / s.Memory.M1, 0.9, 1.1);
            Assert.InRange((double)plan.M2 / s.Memory.M2, 0.9, 1.1);
            if (s.Memory.M3 is long m3) Assert.InRange((double)plan.M3 / m3, 0.67, 1.5);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
