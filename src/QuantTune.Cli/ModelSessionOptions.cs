using System.CommandLine;

namespace QuantTune.Cli;

/// <summary>The options that open a <see cref="Serving.ModelSession"/> from the command line.</summary>
public static class ModelSessionOptions
{
    public static Option<string?> AdapterOption() => new("--adapter", "-a") { Description = "adapter folder (LoRA/DoRA, IA3, adapter, prompt tuning, BitFit) or llama.cpp LoRA adapter .gguf to apply" };
    public static Option<string?> QstOption() => new Option<string?>("--qst") { Description = "QST side-network folder to run on the (NF4) base model" }.MustBeFolder("--qst", PathKinds.QstFolder);

    public static Option<bool> DenseBitNetOption() => new("--dense-bitnet")
        { Description = "run a BitNet b1.58 checkpoint's layers as dense fp matmuls (fake-quantized activations) instead of the packed 2-bit add-only kernel used on CPU" };

}
