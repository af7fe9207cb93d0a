using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.Training;
using QuantTune.Training.FineTuning;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Training.FineTuning;

public sealed class FineTuneTests(ITestOutputHelper output) : TempFolderTest("qt-ft-")
{
    /// <summary>A small slice of Tiny Shakespeare, so each run takes seconds.</summary>
    string Data()
    {
        var path = Path.Combine(Dir, "shakespeare-slice.txt");
        TinyShakespeare.WriteSlice(path, 60_000);
        return path;
    }

    FineTuneRequest Request(FineTuneMethod method, string name, int steps = 12, double lr = 3e-3) => new()
    {
        ModelDirectory = TestData.TinyLlamaDir,
        DataFile = Data(),
        OutputDirectory = Path.Combine(Dir, name),
        Method = method,
        SequenceLength = 64,
        MaxEvalExamples = 16,
        Training = new TrainingOptions { Steps = steps, BatchSize = 4, LearningRate = lr, Seed = 7, EvalEvery = steps, Schedule = ScheduleKind.Constant },
    };

    /// <summary>Each method and its learning rate, on tiny-llama, on tiny-qwen2 (q/k/v biases, tied embeddings: QLoRA and QST once failed on its biases) and on tiny-phi3 (fused qkv_proj and gate_up_proj, partial LongRoPE).</summary>
    public static TheoryData<string, FineTuneMethod, double> Methods()
    {
        var data = new TheoryData<string, FineTuneMethod, double>();
        foreach (var model in new[] { "tiny-llama", "tiny-qwen2", "tiny-phi3" })
            foreach (var (method, lr) in Rates) data.Add(model, method, lr);
        return data;
    }

    static readonly (FineTuneMethod, double)[] Rates =
    [
        (FineTuneMethod.Lora, 3e-3), (FineTuneMethod.Qlora, 3e-3), (FineTuneMethod.Dora, 3e-3), (FineTuneMethod.Adapter, 3e-3), (FineTuneMethod.Ia3, 3e-2),
        (FineTuneMethod.Prompt, 3e-2), (FineTuneMethod.Bitfit, 3e-3), (FineTuneMethod.Full, 1e-3), (FineTuneMethod.Qst, 3e-3),
    ];

    /// <summary>Every method on each newer family's fixture (q/k norms; Qwen3-MoE's experts: LoRA and the other adapters on every expert's projections, QLoRA on NF4 experts, QST fed from sparse and dense layers; Qwen2-MoE's shared expert and Mixtral's w1/w3/w2 experts likewise; Qwen3.5's Gated DeltaNet and gated attention projections, and QST fed from both layer kinds; Gemma's norms, GeGLU, soft-caps and sliding layers, in the side network too; GPT-2's LayerNorms, learned positions, biases and Conv1D names; OLMo 2's post-norms and whole-projection q/k norms, in the side network too; SmolLM3's no-RoPE layers; Granite's multipliers, the logits scaling in the chunked loss; StableLM's LayerNorms and partial rotary).</summary>
    public static TheoryData<string, FineTuneMethod, double> FamilyMethods()
    {
        var data = new TheoryData<string, FineTuneMethod, double>();
        foreach (var model in new[] { "tiny-qwen3", "tiny-qwen3-moe", "tiny-qwen2-moe", "tiny-mixtral", "tiny-qwen3.5", "tiny-gemma3", "tiny-gemma2", "tiny-gpt2", "tiny-olmo2", "tiny-smollm3", "tiny-granite", "tiny-stablelm" })
            foreach (var (method, lr) in Rates)
                // Mixtral has no dense MLP, so no mlp.down_proj for the bottleneck adapter's mlp placement to follow (refused by name).
                if (!(model == "tiny-mixtral" && method == FineTuneMethod.Adapter)) data.Add(model, method, lr);
        return data;
    }

    [Theory]
    [MemberData(nameof(Methods))]
    [MemberData(nameof(FamilyMethods))]
    public void EveryMethodLowersHeldOutPerplexity(string model, FineTuneMethod method, double lr)
    {
        var directory = TestData.Fixture(model);
        var s = FineTuner.Run(Request(method, $"{model}-{method}", lr: lr) with { ModelDirectory = directory });
        output.WriteLine($"{model} {method}: {s.EvalPerplexityBefore:F2} → {s.EvalPerplexityAfter:F2}, trainable {s.TrainableParameters}, M1 {s.Memory.M1} M2 {s.Memory.M2} M3 {s.Memory.M3} peak {s.Memory.StepPeak}");
        Assert.True(s.EvalPerplexityAfter < s.EvalPerplexityBefore, $"{s.EvalPerplexityBefore} → {s.EvalPerplexityAfter}");
        Assert.True(Directory.Exists(s.ResultDirectory));
        Assert.True(File.Exists(Path.Combine(s.OutputDirectory, "loss.png")));
        Assert.Equal(12, File.ReadAllLines(Path.Combine(s.OutputDirectory, "metrics.jsonl")).Length);
        Assert.True(s.Memory.M1 > 0 && s.Memory.M2 > 0);
    }

    /// <summary>LoRA on a mixture of experts: every expert's projections are targets (PEFT's names), the router is not, and each step logs the load-balancing loss.</summary>
    [Fact]
    public void LoraOnAMixtureOfExpertsAdaptsEveryExpertAndLogsTheAuxLoss()
    {
        var s = FineTuner.Run(Request(FineTuneMethod.Lora, "moe-lora", steps: 3) with { ModelDirectory = TestData.TinyQwen3MoeDir });
        using (var adapter = SafetensorsFile.Open(Path.Combine(s.ResultDirectory, "adapter_model.safetensors")))
        {
            var keys = adapter.Tensors.Keys.ToList();
            foreach (var layer in new[] { 0, 2 })
                for (int e = 0; e < 8; e++)
                    foreach (var projection in new[] { "gate_proj", "up_proj", "down_proj" })
                        Assert.Contains($"base_model.model.model.layers.{layer}.mlp.experts.{e}.{projection}.lora_A.weight", keys);
            Assert.Contains("base_model.model.model.layers.1.mlp.gate_proj.lora_B.weight", keys);
            Assert.DoesNotContain(keys, k => k.Contains(".mlp.gate.", StringComparison.Ordinal));
        }
        var lines = File.ReadAllLines(Path.Combine(s.OutputDirectory, "metrics.jsonl")).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(3, lines.Count);
        foreach (var line in lines)
        {
            double aux = line.GetProperty("aux_loss").GetDouble();
            output.WriteLine($"step {line.GetProperty("step")}: loss {line.GetProperty("loss").GetDouble():F4}, aux_loss {aux:F4}");
            // experts · Σ f·P: positive, and at most k · experts (f sums to one per slot, P ≤ 1); k at perfect balance
            Assert.True(aux > 0 && aux <= 2 * 8, $"aux_loss {aux}");
        }
        // A dense model logs none.
        var dense = FineTuner.Run(Request(FineTuneMethod.Lora, "dense-lora", steps: 1) with { ModelDirectory = TestData.TinyQwen3Dir });
        Assert.DoesNotContain("aux_loss", File.ReadAllText(Path.Combine(dense.OutputDirectory, "metrics.jsonl")));
    }

    [Fact]
    public void GradientCheckpointingOfAMixtureOfExpertsWithItsAuxLossIsRefused()
    {
        var e = Assert.Throws<InvalidSettingException>(() => FineTuner.Run(Request(FineTuneMethod.Lora, "moe-ckpt", steps: 1) with { ModelDirectory = TestData.TinyQwen3MoeDir, GradientCheckpointing = true }));
        Assert.Contains("FineTuneRequest.GradientCheckpointing", e.Message);
        Assert.Contains("router_aux_loss_coef", e.Message);
        Assert.Contains(Path.Combine(TestData.TinyQwen3MoeDir, "config.json"), e.Message);
    }

    [Fact]
    public void ALearningRateThatMakesTheLossNaNStopsWithAClearMessageAndKeepsTheLastCheckpoint()
    {
        var r = Request(FineTuneMethod.Full, "nan", steps: 8, lr: 1e9) with { Training = Request(FineTuneMethod.Full, "x", steps: 8, lr: 1e9).Training with { CheckpointEvery = 1, MaxGradNorm = 0 } };
        var e = Assert.Throws<TrainingDivergedException>(() => FineTuner.Run(r));
        Assert.Contains("TrainingOptions.LearningRate", e.Message);
        Assert.Contains("last good checkpoint", e.Message);
        Assert.True(File.Exists(Path.Combine(r.OutputDirectory, "checkpoint", "trainer_state.json")));
        using var ckpt = SafetensorsFile.Open(Path.Combine(r.OutputDirectory, "checkpoint", "trainable.safetensors"));
        foreach (var name in ckpt.Tensors.Keys)
        {
            using var t = ckpt.ToTensor(name);
            Assert.True(t.isfinite().all().item<bool>(), $"{name} is not finite in the kept checkpoint");
        }
    }

    /// <summary>
    /// A run that finished training but died before its result was written (the crash of issue
    /// 16): resuming it trains nothing, says so, and writes the result from the final checkpoint.
    /// </summary>
    [Fact]
    public void ResumingAFinishedRunSavesItsResultFromTheFinalCheckpointWithoutTraining()
    {
        var r = Request(FineTuneMethod.Lora, "finished", steps: 3);
        var first = FineTuner.Run(r);
        var adapter = File.ReadAllBytes(Path.Combine(first.ResultDirectory, "adapter_model.safetensors"));
        var metrics = File.ReadAllLines(Path.Combine(r.OutputDirectory, "metrics.jsonl"));
        Directory.Delete(first.ResultDirectory, recursive: true);

        var again = FineTuner.Run(r with { Resume = true });
        Assert.True(again.WasAlreadyComplete);
        Assert.Equal(3, again.ResumedFrom);
        Assert.Equal(adapter, File.ReadAllBytes(Path.Combine(again.ResultDirectory, "adapter_model.safetensors")));
        Assert.Equal(metrics, File.ReadAllLines(Path.Combine(r.OutputDirectory, "metrics.jsonl")));
        Assert.Equal(first.EvalPerplexityAfter, again.EvalPerplexityAfter, 6);

        // Fewer steps than the checkpoint has is refused, naming the setting; more steps train on.
        var e = Assert.Throws<InvalidSettingException>(() => FineTuner.Run(r with { Resume = true, Training = r.Training with { Steps = 2, EvalEvery = 2 } }));
        Assert.Contains("TrainingOptions.Steps = 2", e.Message);
        var longer = FineTuner.Run(r with { Resume = true, Training = r.Training with { Steps = 5, EvalEvery = 5 } });
        Assert.False(longer.WasAlreadyComplete);
        Assert.Equal(5, File.ReadAllLines(Path.Combine(r.OutputDirectory, "metrics.jsonl")).Length);
    }

    [Theory]
    [InlineData("{\"Step\": -3, \"Epoch\": 0, \"BatchInEpoch\": 0, \"Seed\": 7, \"Optimizer\": \"adamw\", \"LastLoss\": 1}", "Step")]
    [InlineData("{\"Step\": \"two\", \"Epoch\": 0}", "Step")]
    [InlineData("null", "null")]
    [InlineData("{\"Step\": 1, \"Epoch\": 0, \"BatchInEpoch\": 0, \"Seed\": 7, \"Optimizer\": \"adamw\", \"LastLoss\": 1", "is not valid JSON (line 1")]
    public void ABadTrainerStateIsReportedWithTheFileAndTheField(string json, string mention)
    {
        var run = Path.Combine(Dir, "bad-state-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(run, "checkpoint"));
        var path = Path.Combine(run, "checkpoint", "trainer_state.json");
        File.WriteAllText(path, json);
        var e = Assert.Throws<InvalidFormatException>(() => QuantTune.Training.Checkpoints.TrainingCheckpoint.ReadState(run));
        Assert.Contains(path, e.Message);
        Assert.Contains(mention, e.Message);
    }

    [Fact]
    public void ALastLossOfNaNIsWrittenAndReadBack()
    {
        var run = Path.Combine(Dir, "nan-state");
        var state = new QuantTune.Training.Checkpoints.TrainerState(0, 0, 0, 7, "adamw", double.NaN);
        QuantTune.Training.Checkpoints.TrainingCheckpoint.Save(run, state, [], new Dictionary<string, Tensor>());
        Assert.True(double.IsNaN(QuantTune.Training.Checkpoints.TrainingCheckpoint.ReadState(run).LastLoss));
    }

    [Fact]
    public void ResumeWithoutACheckpointIsRefused()
    {
        var e = Assert.ThrowsAny<QuantTuneException>(() => FineTuner.Run(Request(FineTuneMethod.Lora, "none") with { Resume = true }));
        Assert.Contains("no checkpoint", e.Message);
    }

}

/// <summary>
/// Bit-exact resume. Dropout draws from libtorch's process-wide generator, which the trainer
/// reseeds every step; tests running in parallel would draw from it too, so this one runs alone.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class ResumeTests : IDisposable
{
    readonly string Dir = Directory.CreateTempSubdirectory("qt-resume-").FullName;

    public void Dispose() => Directory.Delete(Dir, recursive: true);

    /// <summary>In fp32 and in bf16 mixed precision (a bf16 base under fp32 LoRA weights) alike, and for a bf16 QST side network (bf16 weights, fp32 moments).</summary>
    [Theory]
    [InlineData(FineTuneMethod.Lora, ScalarType.Float32, ScalarType.Float32)]
    [InlineData(FineTuneMethod.Lora, ScalarType.BFloat16, ScalarType.Float32)]
    [InlineData(FineTuneMethod.Qst, ScalarType.Float32, ScalarType.BFloat16)]
    public void AnInterruptedRunResumesBitExactly(FineTuneMethod method, ScalarType dtype, ScalarType sideDType)
    {
        var whole = Request($"whole-{method}-{dtype}") with { DType = dtype, Method = method, Qst = new QuantTune.SideTuning.QstConfig { SideDType = sideDType } };
        FineTuner.Run(whole);

        var parted = whole with { OutputDirectory = Path.Combine(Dir, $"parted-{method}-{dtype}") };
        using var cancel = new CancellationTokenSource();
        var stopAtThree = new Progress(p => { if (p.Step == 3) cancel.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => FineTuner.Run(parted, stopAtThree, cancel.Token));
        var resumed = FineTuner.Run(parted with { Resume = true });
        Assert.Equal(3, resumed.ResumedFrom);

        using var a = SafetensorsFile.Open(Path.Combine(whole.OutputDirectory, "checkpoint", "trainable.safetensors"));
        using var b = SafetensorsFile.Open(Path.Combine(parted.OutputDirectory, "checkpoint", "trainable.safetensors"));
        Assert.Equal(a.Tensors.Keys.Order(), b.Tensors.Keys.Order());
        foreach (var name in a.Tensors.Keys) Assert.Equal(a.GetBytes(name).ToArray(), b.GetBytes(name).ToArray());
        Assert.Equal(File.ReadAllLines(Path.Combine(whole.OutputDirectory, "metrics.jsonl")).Length, File.ReadAllLines(Path.Combine(parted.OutputDirectory, "metrics.jsonl")).Length);
    }

    FineTuneRequest Request(string name)
    {
        var data = Path.Combine(Dir, "data.txt");
        TinyShakespeare.WriteSlice(data, 60_000);
        return new FineTuneRequest
        {
            ModelDirectory = TestData.TinyLlamaDir, DataFile = data, OutputDirectory = Path.Combine(Dir, name), Method = FineTuneMethod.Lora,
            SequenceLength = 64, MaxEvalExamples = 8, Dropout = 0.1,
            Training = new TrainingOptions { Steps = 6, BatchSize = 4, LearningRate = 3e-3, Seed = 7, CheckpointEvery = 3 },
        };
    }

    sealed class Progress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
