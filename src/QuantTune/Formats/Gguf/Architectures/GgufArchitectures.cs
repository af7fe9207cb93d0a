using QuantTune.Models.Config;
using QuantTune.Models.Families;

namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>The GGUF architectures QuantTune writes and reads, one class each, and the one a family or a file belongs to.</summary>
public static class GgufArchitectures
{
    public static readonly IReadOnlyList<IGgufArchitecture> All =
        [new LlamaArchitecture(), new Qwen2Architecture(), new Qwen3Architecture(), new Qwen3MoeArchitecture(), new Qwen2MoeArchitecture(), new Qwen35Architecture(), new Gemma2Architecture(), new Gemma3Architecture(), new Phi3Architecture(), new Gpt2Architecture(), new Olmo2Architecture(), new SmolLM3Architecture(), new GraniteArchitecture(), new StableLmArchitecture()];

    /// <summary>Every architecture's <c>general.architecture</c> name, in the order of <see cref="All"/>.</summary>
    public static IReadOnlyList<string> Names => All.Select(a => a.Name).ToArray();

    /// <summary>The architecture named <paramref name="name"/> (a file's <c>general.architecture</c>), or null.</summary>
    public static IGgufArchitecture? Find(string name) => All.FirstOrDefault(a => a.Name == name);

    /// <summary>The architecture <paramref name="family"/> exports as, or null when it has none.</summary>
    public static IGgufArchitecture? For(ModelFamily family) => All.FirstOrDefault(a => a.Takes(family));

    /// <summary>The architecture <paramref name="config"/>'s family exports as, or null.</summary>
    public static IGgufArchitecture? For(ModelConfig config) => ModelFamilies.Find(config.ModelType) is ModelFamily f ? For(f) : null;

    /// <summary>The <c>model_type</c>s of the families that export, in the order of <see cref="ModelFamilies.All"/>.</summary>
    public static IEnumerable<string> ExportedModelTypes => ModelFamilies.All.Where(f => For(f) is not null).SelectMany(f => f.ModelTypes);
}
