using QuantTune.Models.Config;
using QuantTune.Models.Loading;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using QuantTune.Qat;
using QuantTune.Training.Memory;

namespace QuantTune.Training.FineTuning.Methods;

/// <summary>
/// LoRA and its variants, one class: plain LoRA, QLoRA (LoRA over an NF4 double-quantized frozen backbone) and DoRA
/// (LoRA with a learned magnitude per output). The result is a PEFT LoRA adapter.
/// </summary>
public sealed class LoraMethod(FineTuneMethod id, string name, bool quantizesBackbone, bool dora) : IFineTuneMethod
{
    public FineTuneMethod Id => id;
    public string Name => name;
    public string? PeftType => LoraConfig.Type;
    public string ResultFolder => "adapter";
    public bool QuantizesBackbone => quantizesBackbone;
    public bool TakesQat => !quantizesBackbone;
    public bool TrainsBackbone => false;

    public PlanRequest? Plan(ModelConfig config, int batch, int sequence) =>
        new(config, quantizesBackbone ? "qlora" : "lora", batch, sequence) { Dora = dora };

    public AppliedMethod Apply(FineTuneRequest r, PretrainedModel pm, QatSpec? qat)
    {
        var model = pm.Model;
        var config = new LoraConfig
        {
            R = r.Rank,
            LoraAlpha = r.Alpha,
            LoraDropout = r.Dropout,
            UseRsLora = r.RsLora,
            UseDora = dora,
            TargetModules = r.Targets.Count == 1 && r.Targets[0] == PeftTargets.AllLinear ? PeftTargets.AllLinearLayers : PeftTargets.FromNames(r.Targets),
            BaseModelNameOrPath = Path.GetFullPath(r.ModelDirectory),
            FanInFanOut = model.Config.Conv1DWeights,
        };
        // QAT with LoRA: the frozen base is quantized once; only the adapter trains, through it.
        qat?.Freeze(model);
        LoraModel.Apply(model, config, r.Training.Seed);
        return new AppliedMethod(model, FineTuneMethodRegistry.PlainForward(model), o =>
        {
            var folder = Path.Combine(o, ResultFolder);
            AdapterIO.Save(model, config, folder, qat);
            return folder;
        });
    }
}
