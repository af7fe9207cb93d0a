using QuantTune.Diagnostics;
using QuantTune.Models.Transformer;
using QuantTune.Peft.BitFit;
using QuantTune.Peft.Bottleneck;
using QuantTune.Peft.Ia3;
using QuantTune.Peft.PromptTuning;

namespace QuantTune.Training.FineTuning.Methods;

/// <summary>Every fine-tuning method, one line each (as <c>ModelFamilies.All</c> lists the model families).</summary>
public static class FineTuneMethodRegistry
{
    public static readonly IReadOnlyList<IFineTuneMethod> All =
    [
        new FullMethod(),
        new LoraMethod(FineTuneMethod.Lora, "lora", quantizesBackbone: false, dora: false),
        new LoraMethod(FineTuneMethod.Qlora, "qlora", quantizesBackbone: true, dora: false),
        new LoraMethod(FineTuneMethod.Dora, "dora", quantizesBackbone: false, dora: true),
        new AdapterMethod(FineTuneMethod.Adapter, "adapter", BottleneckModel.PeftType, (r, pm) =>
        {
            var config = new BottleneckConfig { BottleneckSize = r.Bottleneck, BaseModelNameOrPath = Path.GetFullPath(r.ModelDirectory) };
            BottleneckModel.Apply(pm.Model, config, r.Training.Seed);
            return (pm.Model, PlainForward(pm.Model), folder => BottleneckModel.Save(pm.Model, config, folder));
        }),
        new AdapterMethod(FineTuneMethod.Ia3, "ia3", Ia3Model.PeftType, (r, pm) =>
        {
            var config = Ia3Config.DefaultFor(pm.Model.Config) with { BaseModelNameOrPath = Path.GetFullPath(r.ModelDirectory) };
            Ia3Model.Apply(pm.Model, config, r.Training.Seed);
            return (pm.Model, PlainForward(pm.Model), folder => Ia3Model.Save(pm.Model, config, folder));
        }),
        new AdapterMethod(FineTuneMethod.Prompt, "prompt", PromptTuningModel.PeftType, (r, pm) =>
        {
            var config = new PromptTuningConfig { NumVirtualTokens = r.VirtualTokens, BaseModelNameOrPath = Path.GetFullPath(r.ModelDirectory) };
            var prompt = PromptTuningModel.Apply(pm.Model, config, r.Training.Seed, pm.Tokenizer);
            return (prompt, new LanguageModelForward(prompt.Hidden, pm.Model.Head), folder => PromptTuningModel.Save(prompt, config, folder));
        }),
        new AdapterMethod(FineTuneMethod.Bitfit, "bitfit", BitFitModel.PeftType, (r, pm) =>
        {
            var config = new BitFitConfig { BaseModelNameOrPath = Path.GetFullPath(r.ModelDirectory) };
            BitFitModel.Apply(pm.Model, config, r.Training.Seed);
            return (pm.Model, PlainForward(pm.Model), folder => BitFitModel.Save(pm.Model, config, folder));
        }),
        new QstMethod(),
    ];

    /// <summary>The method <paramref name="id"/> names.</summary>
    public static IFineTuneMethod Get(FineTuneMethod id) =>
        All.FirstOrDefault(m => m.Id == id) ?? throw new QuantTuneException($"Method {id}: no such fine-tuning method is registered");

    /// <summary>The forward of a model trained in place: its decoder's hidden states, then its head.</summary>
    internal static LanguageModelForward PlainForward(CausalLM model) => new(ids => model.model.Forward(ids), model.Head);
}
