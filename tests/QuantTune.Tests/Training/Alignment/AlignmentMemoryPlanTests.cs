using QuantTune.Models.Config;
using QuantTune.Training;
using QuantTune.Training.Alignment;
using QuantTune.Training.Data;
using QuantTune.Training.FineTuning;
using QuantTune.Training.Memory;
using Xunit.Abstractions;

namespace QuantTune.Tests.Training.Alignment;

/// <summary>
/// The planner's count of a DPO step (chosen and rejected in one batch, the reference without gradients) against the
/// step measured on tiny-llama with LoRA, within the bounds the fine-tuning plan meets; and the count for an unpaired
/// objective is the fine-tuning plan's.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class AlignmentMemoryPlanTests(ITestOutputHelper output) : TempFolderTest("qt-align-plan-")
{
    [Fact]
    public void ADpoStepIsPlannedAsTwiceTheBatchAndMatchesTheMeasurement()
    {
        // Pairs long enough that TRL's truncation cuts every sequence to max_length (128 tokens), so the step's batch is
        // 8 sequences of 128 tokens as the plan counts them.
        string train = Path.Combine(Dir, "train.jsonl"), eval = Path.Combine(Dir, "eval.jsonl");
        WritePairs(train, 16, 0);
        WritePairs(eval, 4, 40_000);
        var s = Aligner.Run(new AlignRequest
        {
            Objective = "dpo",
            Preference = new PreferenceOptions { MaxLength = 128, MaxPromptLength = 64 },
            Run = new FineTuneRequest
            {
                ModelDirectory = TestData.TinyLlamaDir, DataFile = train, EvalDataFile = eval, OutputDirectory = Path.Combine(Dir, "run"),
                Method = FineTuneMethod.Lora, Rank = 8, SequenceLength = 128,
                Training = new TrainingOptions { Steps = 2, BatchSize = 4, LearningRate = 1e-3, Seed = 7 },
            },
        });
        var config = ModelConfig.Load(TestData.TinyLlamaDir);
        var request = new PlanRequest(config, "lora", 4, 128) { ElementBytes = 4, LoraRank = 8, AttentionProbabilitiesKept = true };
        var dpo = AlignmentMemoryPlan.Plan(request, AlignmentObjectiveRegistry.Get("dpo"));
        output.WriteLine($"dpo: M1 {dpo.M1} vs {s.Memory.M1}, M2 {dpo.M2} vs {s.Memory.M2}, M3 {dpo.M3} vs {s.Memory.M3}");
        Assert.Equal(MemoryPlanner.Plan(request with { Batch = 8 }), dpo);
        Assert.Equal(s.TrainableParameters, dpo.TrainableParameters);
        Assert.InRange((double)dpo.M1 / s.Memory.M1, 0.9, 1.1);
        if (s.Memory.M3 is long m3) Assert.InRange((double)dpo.M3 / m3, 0.67, 1.5);
        Assert.Equal(MemoryPlanner.Plan(request), AlignmentMemoryPlan.Plan(request, AlignmentObjectiveRegistry.Get("kto")));
    }

    static void WritePairs(string path, int count, int from)
    {
        var text = TinyShakespeare.Text;
        File.WriteAllLines(path, Enumerable.Range(0, count).Select(i =>
        {
            int at = from + i * 1_000;
            string chosen = text.Substring(at + 600, 400);
            return System.Text.Json.JsonSerializer.Serialize(new { prompt = text.Substring(at, 600), chosen, rejected = new string(chosen.Reverse().ToArray()) });
        }));
    }
}
