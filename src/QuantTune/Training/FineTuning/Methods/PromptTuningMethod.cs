using QuantTune.Models.Config;
using QuantTune.Models.Loading;
using QuantTune.Peft.PromptTuning;
using QuantTune.Qat;
using QuantTune.Training.Memory;

namespace QuantTune.Training.FineTuning.Methods;

/// <summary>Prompt tuning: learned virtual tokens in front of every input; the model stays as it is.</summary>
public sealed class PromptTuningMethod : IFineTuneMethod
{
    public FineTuneMethod Id => FineTuneMethod.Prompt;
    public string Name => "prompt";
    public string? PeftType => PromptTuningModel.PeftType;
    public string ResultFolder => "adapter";
    public bool QuantizesBackbone => false;
    public bool TakesQat => false;
    public bool TrainsBackbone => false;

    /// <summary>The planner does not model prompt tuning.</summary>
    public PlanRequest? Plan(ModelConfig config, int batch, int sequence) => null;

    public AppliedMethod Apply(FineTuneRequest r, PretrainedModel pm, QatSpec? qat)
    {
        var config = new PromptTuningConfig { NumVirtualTokens = r.VirtualTokens, BaseModelNameOrPath = Path.GetFullPath(r.ModelDirectory) };
        var prompt = PromptTuningModel.Apply(pm.Model, config, r.Training.Seed, pm.Tokenizer);
        return new AppliedMethod(prompt, new LanguageModelForward(prompt.Hidden, pm.Model.Head), o =>
        {
            var folder = Path.Combine(o, ResultFolder);
            PromptTuningModel.Save(prompt, config, folder);
            return folder;
        });
    }
}
