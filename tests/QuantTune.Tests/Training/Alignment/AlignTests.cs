using System.Text.Json;
using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.Training;
using QuantTune.Training.Alignment;
using QuantTune.Training.FineTuning;
using Xunit.Abstractions;

namespace QuantTune.Tests.Training.Alignment;

/// <summary>
/// Preference optimisation on the embedded tiny-llama: DPO raises the held-out preference accuracy and reward margin
/// on pairs where the chosen completion is the text's true continuation and the rejected one a corrupted copy, with
/// LoRA, QLoRA and QST (whose references are the same model with the adapter off, and the backbone's own head);
/// every objective runs end to end and logs TRL's metrics.
/// </summary>
public sealed class AlignTests(ITestOutputHelper output) : TempFolderTest("qt-align-")
{
    AlignRequest Request(string objective, FineTuneMethod method, string name, int steps, double lr, bool unpaired = false)
    {
        string train = Path.Combine(Dir, unpaired ? "train-unpaired.jsonl" : "train.jsonl"), eval = Path.Combine(Dir, unpaired ? "eval-unpaired.jsonl" : "eval.jsonl");
        if (!File.Exists(train))
        {
            if (unpaired) { PreferenceSet.WriteUnpaired(train, 48, 0, 1); PreferenceSet.WriteUnpaired(eval, 16, 20_000, 2); }
            else { PreferenceSet.Write(train, 48, 0, 1); PreferenceSet.Write(eval, 16, 20_000, 2); }
        }
        return new AlignRequest
        {
            Objective = objective,
            Run = new FineTuneRequest
            {
                ModelDirectory = TestData.TinyLlamaDir, DataFile = train, EvalDataFile = eval, OutputDirectory = Path.Combine(Dir, name), Method = method,
                Training = new TrainingOptions { Steps = steps, BatchSize = 4, LearningRate = lr, Seed = 7, EvalEvery = steps, Schedule = ScheduleKind.Constant },
            },
        };
    }

    [Theory]
    [InlineData(FineTuneMethod.Lora, 5e-3)]
    [InlineData(FineTuneMethod.Qlora, 5e-3)]
    [InlineData(FineTuneMethod.Qst, 1e-2)]
    public void DpoRaisesTheHeldOutPreferenceAccuracyAndRewardMargin(FineTuneMethod method, double lr)
    {
        var s = Aligner.Run(Request("dpo", method, $"dpo-{method}", steps: 12, lr));
        output.WriteLine($"{method}: accuracy {s.EvalMetricsBefore[RewardMetrics.Accuracies]} → {s.EvalMetricsAfter[RewardMetrics.Accuracies]}, " +
            $"margin {s.EvalMetricsBefore[RewardMetrics.Margins]} → {s.EvalMetricsAfter[RewardMetrics.Margins]}, loss {s.EvalLossBefore} → {s.EvalLossAfter}");
        if (method != FineTuneMethod.Qst)
        {
            // Before training the policy is the reference (the adapter's B is zero): every reward is 0, no pair is ranked, the loss is log 2.
            Assert.Equal(0, s.EvalMetricsBefore[RewardMetrics.Accuracies]);
            Assert.Equal(0, s.EvalMetricsBefore[RewardMetrics.Margins], 6);
            Assert.Equal(Math.Log(2), s.EvalLossBefore, 5);
        }
        // QST's reference is the backbone alone, and its untrained side network already shifts the output, so its
        // rewards start away from 0; training must still raise them.
        Assert.True(s.EvalMetricsAfter[RewardMetrics.Margins] > s.EvalMetricsBefore[RewardMetrics.Margins] + 0.1);
        Assert.True(s.EvalMetricsAfter[RewardMetrics.Accuracies] >= 0.75, $"held-out accuracy {s.EvalMetricsAfter[RewardMetrics.Accuracies]}");
        Assert.True(s.EvalMetricsAfter[RewardMetrics.Margins] > 0.1, $"held-out margin {s.EvalMetricsAfter[RewardMetrics.Margins]}");
        Assert.True(s.EvalLossAfter < s.EvalLossBefore - 0.05);
        Assert.Equal(16, s.EvalExamples);
        Assert.Equal(48, s.TrainExamples);
    }

    [Theory]
    [InlineData("ipo", 5e-3)]
    [InlineData("orpo", 5e-3)]
    [InlineData("simpo", 5e-3)]
    [InlineData("kto", 5e-3)]
    public void EveryObjectiveTrainsAndLogsTrlsMetrics(string objective, double lr)
    {
        var r = Request(objective, FineTuneMethod.Lora, objective, steps: 4, lr, unpaired: objective == "kto");
        var s = Aligner.Run(r);
        var lines = File.ReadAllLines(Path.Combine(r.Run.OutputDirectory, "metrics.jsonl"));
        Assert.Equal(4, lines.Length);
        using var last = JsonDocument.Parse(lines[^1]);
        foreach (var key in new[] { RewardMetrics.Chosen, RewardMetrics.Rejected, RewardMetrics.Margins, RewardMetrics.LogpsChosen, RewardMetrics.LogpsRejected })
            Assert.True(last.RootElement.TryGetProperty(key, out _), $"{objective}: metrics.jsonl has no {key}");
        Assert.Equal(objective != "kto", last.RootElement.TryGetProperty(RewardMetrics.Accuracies, out _));
        Assert.True(s.EvalLossAfter < s.EvalLossBefore, $"{objective}: held-out loss {s.EvalLossBefore} → {s.EvalLossAfter}");
        Assert.True(File.Exists(Path.Combine(r.Run.OutputDirectory, "adapter", "adapter_model.safetensors")));
        Assert.Equal(objective is "ipo" or "kto" ? "the base model with the adapter disabled" : "none (the objective has no reference model)", s.Reference);
    }

    [Fact]
    public void AReferenceObjectiveWithFullFineTuningIsRefusedByProperty()
    {
        var e = Assert.Throws<InvalidSettingException>(() => Aligner.Run(Request("dpo", FineTuneMethod.Full, "full", 2, 1e-3)));
        Assert.StartsWith("FineTuneRequest.Method = full: with AlignRequest.Objective dpo", e.Message);
    }

    [Fact]
    public void UnpairedDataForAPairedObjectiveIsRefused()
    {
        var e = Assert.Throws<QuantTuneException>(() => Aligner.Run(Request("dpo", FineTuneMethod.Lora, "unpaired", 2, 1e-3, unpaired: true)));
        Assert.Contains("unpaired records", e.Message);
        Assert.Contains("line 1", e.Message);
    }
}

/// <summary>A DPO run interrupted and resumed ends bit-exactly where the uninterrupted run ends (dropout is reseeded per step, so this runs alone).</summary>
[Collection(SerialCollection.Name)]
public sealed class AlignResumeTests() : TempFolderTest("qt-align-resume-")
{
    [Fact]
    public void AnInterruptedDpoRunResumesBitExactly()
    {
        var train = PreferenceSet.Write(Path.Combine(Dir, "train.jsonl"), 24, 0, 1);
        var eval = PreferenceSet.Write(Path.Combine(Dir, "eval.jsonl"), 4, 20_000, 2);
        var whole = new AlignRequest
        {
            Objective = "dpo",
            Run = new FineTuneRequest
            {
                ModelDirectory = TestData.TinyLlamaDir, DataFile = train, EvalDataFile = eval, OutputDirectory = Path.Combine(Dir, "whole"), Method = FineTuneMethod.Lora, Dropout = 0.1,
                Training = new TrainingOptions { Steps = 6, BatchSize = 4, LearningRate = 3e-3, Seed = 7, CheckpointEvery = 3 },
            },
        };
        Aligner.Run(whole);
        var parted = whole with { Run = whole.Run with { OutputDirectory = Path.Combine(Dir, "parted") } };
        using var cancel = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => Aligner.Run(parted, new Stop(p => { if (p.Step == 3) cancel.Cancel(); }), cancel.Token));
        var resumed = Aligner.Run(parted with { Run = parted.Run with { Resume = true } });
        Assert.Equal(3, resumed.ResumedFrom);

        using var a = SafetensorsFile.Open(Path.Combine(whole.Run.OutputDirectory, "checkpoint", "trainable.safetensors"));
        using var b = SafetensorsFile.Open(Path.Combine(parted.Run.OutputDirectory, "checkpoint", "trainable.safetensors"));
        foreach (var name in a.Tensors.Keys) Assert.Equal(a.GetBytes(name).ToArray(), b.GetBytes(name).ToArray());
        // The per-step losses and TRL metrics match too (the seconds differ).
        static IEnumerable<string> Losses(string dir) => File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Select(l =>
        {
            using var d = JsonDocument.Parse(l);
            return $"{d.RootElement.GetProperty("loss").GetDouble():R} {d.RootElement.GetProperty(RewardMetrics.Margins).GetDouble():R}";
        }).ToList();
        Assert.Equal(Losses(whole.Run.OutputDirectory), Losses(parted.Run.OutputDirectory));
    }

    sealed class Stop(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
