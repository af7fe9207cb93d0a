using QuantTune.Models.Config;
using QuantTune.Models.Loading;
using QuantTune.Qat;
using QuantTune.SideTuning;
using QuantTune.Training.Memory;

namespace QuantTune.Training.FineTuning.Methods;

/// <summary>
/// Quantized Side Tuning: an NF4 backbone run without autograd feeds its hidden states to a small side network,
/// which is what trains; the result is the side network's folder.
/// </summary>
public sealed class QstMethod : IFineTuneMethod
{
    public FineTuneMethod Id => FineTuneMethod.Qst;
    public string Name => "qst";
    public string? PeftType => null;
    public string ResultFolder => "side";
    public bool QuantizesBackbone => true;
    public bool TakesQat => false;
    public bool TrainsBackbone => false;

    public PlanRequest? Plan(ModelConfig config, int batch, int sequence) => new(config, "qst", batch, sequence);

    public AppliedMethod Apply(FineTuneRequest r, PretrainedModel pm, QatSpec? qat)
    {
        var qst = new QstModel(pm.Model, r.Qst, r.Training.Seed);
        return new AppliedMethod(qst, new LanguageModelForward(qst.Hidden, qst.Head), o =>
        {
            var folder = Path.Combine(o, ResultFolder);
            QstCheckpoint.Save(qst, r.ModelDirectory, FineTuner.NF4Scheme, folder);
            return folder;
        });
    }
}
