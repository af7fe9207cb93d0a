using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Transformer;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using QuantTune.Quantization.Models;
using QuantTune.Training.Memory;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Peft;

/// <summary>
/// A quantized base keeps no more for backward than a plain one: at Qwen3-0.6B's layer shape (hidden 1,024,
/// MLP 3,072, 16 × 128 query heads; one layer, 1 × 512 tokens, LoRA r = 64 on every linear layer), the
/// activations a QLoRA forward leaves alive (M3, measured as the trainer measures it) are within a few
/// percent of LoRA's. The layer's dequantized fp32 weights are 60 MiB, about the size of its whole M3, so
/// keeping them would double it. Reads process-wide memory, so runs alone.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class QloraActivationMemoryTests(ITestOutputHelper output)
{
    [Fact]
    public void QloraKeepsNoMoreActivationsThanLora()
    {
        if (ProcessMemory.LiveHeapBytes is null) return; // glibc 2.33+ only: live bytes, not RSS
        long lora = ForwardGrowth(quantized: false), qlora = ForwardGrowth(quantized: true);
        output.WriteLine($"M3 LoRA {lora / 1048576.0:F1} MiB, QLoRA {qlora / 1048576.0:F1} MiB");
        Assert.True(lora > 16L << 20, $"LoRA's forward kept {lora} bytes: the measurement saw nothing");
        Assert.True(qlora <= lora * 1.05, $"QLoRA's forward kept {qlora} bytes against LoRA's {lora}");
    }

    /// <summary>The live bytes a forward leaves for backward (the second of two, after warm-up), as the trainer's M3.</summary>
    private static long ForwardGrowth(bool quantized)
    {
        var config = ModelConfig.Load(Path.Combine(AppContext.BaseDirectory, "assets", "configs", "qwen3-0.6b.json")) with { NumLayers = 1, VocabSize = 256 };
        manual_seed(0);
        using var model = new CausalLM(config, ScalarType.Float32, CPU);
        using (no_grad())
            foreach (var p in model.parameters())
                if (p.dim() == 2) p.normal_(0, 0.02); else p.fill_(1.0);
        if (quantized) ModelQuantizer.QuantizeNf4DoubleQuant(model);
        foreach (var p in model.parameters()) p.requires_grad = false;
        LoraModel.Apply(model, new LoraConfig { R = 64, LoraAlpha = 16, TargetModules = PeftTargets.AllLinearLayers }, seed: 0);
        using var ids = randint(0, config.VocabSize, [1, 512], ScalarType.Int64);
        long growth = 0;
        for (int pass = 0; pass < 2; pass++)
        {
            using var probe = new StepMemoryProbe(CPU);
            Assert.True(probe.Begin());
            using (NewDisposeScope())
            {
                var hidden = model.model.Forward(ids);
                growth = probe.Growth();
                hidden.sum().backward();
            }
            probe.End();
        }
        return growth;
    }
}
