using QuantTune.Models.Config;
using QuantTune.Models.Loading;
using QuantTune.Models.Transformer;
using QuantTune.Qat;
using QuantTune.Training.Memory;

namespace QuantTune.Training.FineTuning.Methods;

/// <summary>
/// A method whose adapter lives inside the model's layers and is saved as a PEFT-style adapter folder (bottleneck
/// adapters, IA3, BitFit): how to apply it and how to save it, given by its Peft folder's model class.
/// </summary>
public sealed class AdapterMethod(FineTuneMethod id, string name, string peftType,
    Func<FineTuneRequest, CausalLM, long, Action<string>> applyAndSaver) : IFineTuneMethod
{
    public FineTuneMethod Id => id;
    public string Name => name;
    public string? PeftType => peftType;
    public string ResultFolder => "adapter";
    public bool QuantizesBackbone => false;
    public bool TakesQat => false;
    public bool TrainsBackbone => false;

    /// <summary>The planner models full fine-tuning, LoRA, QLoRA and QST; these adapters are not modelled.</summary>
    public PlanRequest? Plan(ModelConfig config, int batch, int sequence) => null;

    public AppliedMethod Apply(FineTuneRequest r, PretrainedModel pm, QatSpec? qat)
    {
        var save = applyAndSaver(r, pm.Model, r.Training.Seed);
        return new AppliedMethod(pm.Model, FineTuneMethodRegistry.PlainForward(pm.Model), o =>
        {
            var folder = Path.Combine(o, ResultFolder);
            save(folder);
            return folder;
        });
    }
}
