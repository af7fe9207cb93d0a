using QuantTune.Evaluation;
using QuantTune.Formats.Gguf;
using QuantTune.Generation;
using QuantTune.Models.Loading;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using QuantTune.Quantization;
using QuantTune.Quantization.Activations;
using QuantTune.Quantization.Gptq;
using QuantTune.Quantization.Reports;
using QuantTune.Quantization.Models;
using QuantTune.SideTuning;
using TorchSharp;
using static TorchSharp.torch;

namespace QuantTune.Tests.Runtime;

/// <summary>
/// Loading a model, using it and disposing it leaves no tensor alive, for each of the library's
/// main jobs. A tensor left to the finalizer holds its memory until a garbage collection, and a
/// temporary made outside a dispose scope can be finalized while libtorch still reads it.
/// (Fine-tuning has its own test, FineTuneLeakTests.)
/// </summary>
public sealed class LibraryLeakTests() : TempFolderTest("qt-libleak-")
{
    public static TheoryData<string> Jobs => ["generate", "perplexity", "quantize-nf4", "export-gguf-q4_k_m", "lora-merge-save", "lora-save-load", "gptq", "gguf-import-forward", "qst-generate", "quantization-report"];

    void RunJob(string job)
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        var ids = pm.Tokenizer.Encode("The history of the kings of England, told in short plays, begins", addSpecialTokens: true);
        switch (job)
        {
            case "generate":
                Assert.Equal(8, TextGenerator.Generate(pm.Model, ids, new SamplingOptions { MaxNewTokens = 8 }).Count());
                break;
            case "perplexity":
                Assert.True(double.IsFinite(PerplexityEvaluator.Evaluate(pm.Model, ids, window: 8).Perplexity));
                break;
            case "quantize-nf4":
                ModelQuantizer.QuantizeNf4DoubleQuant(pm.Model);
                QuantizedCheckpoint.Save(pm.Model, TestData.TinyLlamaDir, Path.Combine(Dir, "nf4"), ScalarType.Float32);
                break;
            case "export-gguf-q4_k_m":
                GgufExport.Write(pm, Path.Combine(Dir, "model.gguf"), LlamaFileType.Q4_K_M);
                break;
            case "lora-merge-save":
                LoraModel.Apply(pm.Model, new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = PeftTargets.AllLinearLayers }, seed: 1);
                LoraModel.Merge(pm.Model);
                PlainCheckpoint.SaveCheckpoint(pm.Model, TestData.TinyLlamaDir, Path.Combine(Dir, "merged"));
                break;
            case "lora-save-load":
            {
                var config = new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = PeftTargets.AllLinearLayers, UseDora = true };
                LoraModel.Apply(pm.Model, config, seed: 1);
                AdapterIO.Save(pm.Model, config, Path.Combine(Dir, "adapter"));
                using var other = PretrainedModel.Load(TestData.TinyLlamaDir);
                AdapterIO.Load(other.Model, Path.Combine(Dir, "adapter"));
                break;
            }
            case "gptq":
            {
                var samples = new[] { ids.Select(i => (long)i).ToArray(), ids.Reverse().Select(i => (long)i).ToArray() };
                GptqModelQuantizer.Quantize(pm.Model, samples, new GptqSettings(GroupSize: 64));
                break;
            }
            case "gguf-import-forward":
            {
                var path = Path.Combine(Dir, "model.gguf");
                GgufExport.Write(pm, path, LlamaFileType.F32);
                using var imported = GgufImport.ToCausalLM(GgufImport.Load(path));
                using var input = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Count]);
                using var logits = imported.Forward(input);
                Assert.Equal(ids.Count, logits.shape[1]);
                break;
            }
            case "qst-generate":
            {
                ModelQuantizer.QuantizeNf4DoubleQuant(pm.Model);
                using var qst = new QstModel(pm.Model, new QstConfig(), seed: 2);
                Assert.Equal(6, TextGenerator.Generate(() => new QstDecoding(qst), pm.Model.Device, [], ids, new SamplingOptions { MaxNewTokens = 6 }).Count());
                break;
            }
            case "quantization-report":
            {
                var calibration = new[] { ids.Select(i => (long)i).ToArray() };
                var rows = QuantizationReport.Run(TestData.TinyLlamaDir,
                [
                    new("int8 channel", QuantizationSchemes.Create(new("int8", Granularity: "channel"))),
                    new("W8A8 static", QuantizationSchemes.Create(new("int8", Granularity: "channel")), ActivationMode.Static),
                    new("W8A8 dynamic", QuantizationSchemes.Create(new("int8", Granularity: "channel")), ActivationMode.Dynamic),
                    new("int4 block64 clip mse", QuantizationSchemes.Create(new("int4", Block: 64, ClipMethod: "mse"))),
                    new("int4 channel clip kl", QuantizationSchemes.Create(new("int4", Granularity: "channel", ClipMethod: "kl"))),
                ], ids, calibration, window: 8);
                Assert.All(rows, r => Assert.True(double.IsFinite(r.Perplexity), r.Scheme));
                break;
            }
            default:
                throw new ArgumentException(job);
        }
    }

    [Theory]
    [MemberData(nameof(Jobs))]
    public void AJobLeavesNoTensorAlive(string job)
    {
        // Tensors created and not disposed on this thread (the finalizer's disposals count on its own thread).
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        RunJob(job);
        Assert.Equal(0, DisposeScopeManager.Statistics.ThreadTotalLiveCount - before);
    }
}
