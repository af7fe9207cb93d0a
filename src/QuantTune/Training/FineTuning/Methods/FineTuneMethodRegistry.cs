using QuantTune.Diagnostics;
using QuantTune.Models.Transformer;
using QuantTune.Peft.BitFit;
using QuantTune.Peft.Bottleneck;
using QuantTune.Peft.Ia3;

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
        new AdapterMethod(FineTuneMethod.Adapter, "adapter", BottleneckModel.PeftType, (r, model, seed) =>
        {
            var config = new BottleneckConfig { BottleneckSize = r.Bottleneck, BaseModelNameOrPath = Path.GetFullPath(r.ModelDirectory) };
            BottleneckModel.Apply(model, config, seed);
            return folder => BottleneckModel.Save(model, config, folder);
        }),
        new AdapterMethod(FineTuneMethod.Ia3, "ia3", Ia3Model.PeftType, (r, model, seed) =>
        {
            var config = Ia3Config.DefaultFor(model.Config) with { BaseModelNameOrPath = Path.GetFullPath(r.ModelDirectory) };
            Ia3Model.Apply(model, config, seed);
            return folder => Ia3Model.Save(model, config, folder);
        }),
        new PromptTuningMethod(),
        new AdapterMethod(FineTuneMethod.Bitfit, "bitfit", BitFitModel.PeftType, (r, model, seed) =>
        {
            var config = new BitFitConfig { BaseModelNameOrPath = Path.GetFullPath(r.ModelDirectory) };
            BitFitModel.Apply(model, config, seed);
            return folder => BitFitModel.Save(model, config, folder);
        }),
        new QstMethod(),
    ];

    /// <summary>The method <paramref name="id"/> names.</summary>
    public static IFineTuneMethod Get(FineTuneMethod id) =>
        All.FirstOrDefault(m => m.Id == id) ?? throw new QuantTuneException($"Method {id}: no such fine-tuning method is registered");

    /// <summary>The forward of a model trained in place: its decoder's hidden states, then its head.</summary>
    internal static LanguageModelForward PlainForward(CausalLM model) => new(ids => model.model.Forward(ids), model.Head);
}
