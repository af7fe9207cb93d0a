using QuantTune.Models.Config;
using QuantTune.Models.Loading;
using QuantTune.Qat;
using QuantTune.Training.Memory;
using static TorchSharp.torch;

namespace QuantTune.Training.FineTuning.Methods;

/// <summary>
/// One fine-tuning method, whole: what it is called, what it does to the backbone, how it is applied to a loaded
/// model and how its result is saved, the adapter kind its result is read back as, and what the memory planner
/// counts for it. Adding a method is one class (beside its folder under Peft/) and one line in
/// <see cref="FineTuneMethodRegistry.All"/>, as PEFT's <c>register_peft_method</c> over a <c>BaseTuner</c>.
/// </summary>
public interface IFineTuneMethod
{
    FineTuneMethod Id { get; }

    /// <summary>The name <see cref="FineTuneRequest.Method"/> takes and summaries print.</summary>
    string Name { get; }

    /// <summary>The <c>peft_type</c> of the saved adapter (read back by <see cref="Peft.AnyAdapter"/>); null: not a PEFT adapter.</summary>
    string? PeftType { get; }

    /// <summary>The folder of the run the result is saved in: adapter, side or model.</summary>
    string ResultFolder { get; }

    /// <summary>Whether the backbone is quantized to NF4 with double quantization and frozen before training.</summary>
    bool QuantizesBackbone { get; }

    /// <summary>Whether quantization-aware training applies: the full weights train through the quantizer, or the adapter trains over the quantized base.</summary>
    bool TakesQat { get; }

    /// <summary>Whether the backbone's own weights train (full fine-tuning): learnable QAT scales need it.</summary>
    bool TrainsBackbone { get; }

    /// <summary>What the memory planner models for this method at a shape, or null where it does not model it.</summary>
    PlanRequest? Plan(ModelConfig config, int batch, int sequence);

    /// <summary>Applies the method to the loaded model: the module that trains, its forward, and how to save the result.</summary>
    AppliedMethod Apply(FineTuneRequest request, PretrainedModel model, QatSpec? qat);
}

/// <summary>A method applied: the module to train, its forward, and the save of its result (returns the folder written).</summary>
public sealed record AppliedMethod(nn.Module Module, LanguageModelForward Forward, Func<string, string> Save);
