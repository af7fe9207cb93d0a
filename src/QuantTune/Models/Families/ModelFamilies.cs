using QuantTune.IO;

namespace QuantTune.Models.Families;

/// <summary>The families QuantTune loads, and the one a <c>model_type</c> belongs to.</summary>
public static class ModelFamilies
{
    public static readonly IReadOnlyList<ModelFamily> All =
        [new LlamaFamily(), new MistralFamily(), new Qwen2Family(), new Qwen3Family(), new Qwen3MoeFamily(), new Qwen2MoeFamily(), new MixtralFamily(), new Qwen35Family(), new Gemma2Family(), new Gemma3Family(), new Gemma4Family(), new Phi3Family(), new Gpt2Family(), new Olmo2Family(), new SmolLM3Family(), new GraniteFamily(), new StableLmFamily(), new GptOssFamily()];

    /// <summary>Every supported model_type, in the order of <see cref="All"/>.</summary>
    public static IReadOnlyList<string> ModelTypes => All.SelectMany(f => f.ModelTypes).ToArray();

    /// <summary>The family of <paramref name="modelType"/>, or null.</summary>
    public static ModelFamily? Find(string modelType) => All.FirstOrDefault(f => f.ModelTypes.Contains(modelType));

    /// <summary>The family of <paramref name="modelType"/>; an unsupported one is an error naming the supported ones.</summary>
    internal static ModelFamily For(JsonField f, string modelType) =>
        Find(modelType) ?? throw f.Invalid("model_type", $"'{modelType}' is not supported; expected one of {string.Join(", ", ModelTypes)}");
}
