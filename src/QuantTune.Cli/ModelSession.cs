using System.CommandLine;
using QuantTune.Diagnostics;
using QuantTune.Models.Loading;
using QuantTune.Peft;
using QuantTune.SideTuning;
using static TorchSharp.torch;

namespace QuantTune.Cli;

/// <summary>
/// A model as eval and generate use it: a checkpoint folder (plain or quantized), optionally
/// with an adapter (<c>--adapter</c>) or a QST side network (<c>--qst</c>) on top.
/// <see cref="Forward"/> is null when the plain causal LM (with its KV cache) applies.
/// </summary>
public sealed class ModelSession : IDisposable
{
    public required PretrainedModel Pretrained { get; init; }
    public Func<Tensor, Tensor>? Forward { get; init; }
    public string? Extra { get; init; }

    public static Option<string?> AdapterOption() => new("--adapter", "-a") { Description = "adapter folder (LoRA/DoRA, IA3, adapter, prompt tuning, BitFit) or llama.cpp LoRA adapter .gguf to apply" };
    public static Option<string?> QstOption() => new("--qst") { Description = "QST side-network folder to run on the (NF4) base model" };

    public static ModelSession Open(string model, ScalarType dtype, Device device, string? adapter, string? qst)
    {
        if (adapter is not null && qst is not null) throw new QuantTuneException("--adapter and --qst: give one or the other");
        var pm = PretrainedModel.Load(model, dtype, device);
        try
        {
            if (qst is not null)
            {
                var side = QstLoader.Attach(pm, qst);
                return new ModelSession { Pretrained = pm, Forward = ids => side.Forward(ids), Extra = $"QST side network {qst}" };
            }
            if (adapter is not null)
            {
                var (type, forward) = AnyAdapter.Load(pm.Model, adapter);
                pm.Model.eval();
                return new ModelSession { Pretrained = pm, Forward = type == "PROMPT_TUNING" ? forward : null, Extra = $"{type} adapter {adapter}" };
            }
            return new ModelSession { Pretrained = pm };
        }
        catch
        {
            pm.Dispose();
            throw;
        }
    }

    public void Dispose() => Pretrained.Dispose();
}
