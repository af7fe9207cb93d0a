using QuantTune.Models.Config;
using QuantTune.Models.Loading;
using QuantTune.Peft;
using QuantTune.Qat;
using QuantTune.Training.Memory;

namespace QuantTune.Training.FineTuning.Methods;

/// <summary>Full fine-tuning: every weight trains (through the quantizer with QAT); the result is a whole checkpoint.</summary>
public sealed class FullMethod : IFineTuneMethod
{
    public FineTuneMethod Id => FineTuneMethod.Full;
    public string Name => "full";
    public string? PeftType => null;
    public string ResultFolder => "model";
    public bool QuantizesBackbone => false;
    public bool TakesQat => true;
    public bool TrainsBackbone => true;

    public PlanRequest? Plan(ModelConfig config, int batch, int sequence) => new(config, "full", batch, sequence);

    public AppliedMethod Apply(FineTuneRequest r, PretrainedModel pm, QatSpec? qat)
    {
        var model = pm.Model;
        qat?.Apply(model);
        foreach (var p in model.parameters()) p.requires_grad = true;
        return new AppliedMethod(model, FineTuneMethodRegistry.PlainForward(model), o =>
        {
            var folder = Path.Combine(o, ResultFolder);
            if (qat is not null) QatSetup.Bake(model);
            PlainCheckpoint.SaveCheckpoint(model, r.ModelDirectory, folder);
            if (qat is not null) QatManifest.Save(folder, QatManifest.CheckpointFile, qat);
            return folder;
        });
    }
}
