using QuantTune.Models.Transformer;
using QuantTune.Peft.BitFit;
using QuantTune.Peft.Bottleneck;
using QuantTune.Peft.Ia3;
using QuantTune.Peft.Lora;
using QuantTune.Peft.PromptTuning;
using static TorchSharp.torch;

namespace QuantTune.Peft.Registry;

/// <summary>Every adapter kind QuantTune reads, looked up by <c>peft_type</c> (PEFT's <c>PEFT_TYPE_TO_CONFIG_MAPPING</c>).</summary>
public static class PeftAdapterTypes
{
    public static readonly IReadOnlyList<IPeftAdapterType> All =
    [
        new Kind(LoraConfig.Type, (m, d) => { AdapterIO.Load(m, d); return null; }),
        new Kind("IA3", (m, d) => { Ia3Model.Load(m, d); return null; }),
        new Kind(BottleneckModel.PeftType, (m, d) => { BottleneckModel.Load(m, d); return null; }),
        new Kind(BitFitModel.PeftType, (m, d) => { BitFitModel.Load(m, d); return null; }),
        new Kind(PromptTuningModel.PeftType, (m, d) =>
        {
            var (prompt, _) = PromptTuningModel.Load(m, d);
            return ids => prompt.Forward(ids);
        }),
    ];

    /// <summary>The kind named <paramref name="peftType"/>, or null.</summary>
    public static IPeftAdapterType? Find(string peftType) => All.FirstOrDefault(k => k.PeftType == peftType);

    /// <summary>A kind that is only its loader.</summary>
    private sealed record Kind(string PeftType, Func<CausalLM, string, Func<Tensor, Tensor>?> Loader) : IPeftAdapterType
    {
        public Func<Tensor, Tensor>? Load(CausalLM model, string directory) => Loader(model, directory);
    }
}
