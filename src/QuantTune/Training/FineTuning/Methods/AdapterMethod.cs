using QuantTune.Models.Config;
using QuantTune.Models.Loading;
using QuantTune.Qat;
using QuantTune.Training.Memory;
using static TorchSharp.torch;

namespace QuantTune.Training.FineTuning.Methods;

/// <summary>
/// A method that trains an adapter over the frozen, unquantized backbone and saves it as a PEFT-style adapter folder
/// (bottleneck adapters, IA3, prompt tuning, BitFit): its Peft folder's model class applies it and saves it. The
/// planner does not model these.
/// </summary>
/// <param name="apply">Applies the adapter: the module that trains (the model, or a wrapper around it), its forward, and the save into a folder.</param>
public sealed class AdapterMethod(FineTuneMethod id, string name, string peftType,
    Func<FineTuneRequest, PretrainedModel, (nn.Module Module, LanguageModelForward Forward, Action<string> Save)> apply) : IFineTuneMethod
{
    public FineTuneMethod Id => id;
    public string Name => name;
    public string? PeftType => peftType;
    public string ResultFolder => "adapter";
    public bool QuantizesBackbone => false;
    public bool TakesQat => false;
    public bool TrainsBackbone => false;

    public PlanRequest? Plan(ModelConfig config, int batch, int sequence) => null;

    public AppliedMethod Apply(FineTuneRequest r, PretrainedModel pm, QatSpec? qat)
    {
        var (module, forward, save) = apply(r, pm);
        return new AppliedMethod(module, forward, o =>
        {
            var folder = Path.Combine(o, ResultFolder);
            save(folder);
            return folder;
        });
    }
}
