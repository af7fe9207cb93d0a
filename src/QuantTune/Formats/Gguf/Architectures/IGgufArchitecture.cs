using QuantTune.Models.Config;
using QuantTune.Models.Families;

namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>
/// One llama.cpp GGUF architecture (<c>general.architecture</c>), as convert_hf_to_gguf.py registers one model class
/// per architecture (<c>@ModelBase.register(...)</c> with <c>set_gguf_parameters</c> and <c>modify_tensors</c>): the
/// model families it takes, its <c>&lt;arch&gt;.*</c> keys written from a <see cref="ModelConfig"/> and read back into
/// one, its tensor names Hugging Face ↔ GGUF, its tensor transforms in both directions, and what it cannot represent.
/// Every architecture is listed in <see cref="GgufArchitectures.All"/>; export and import know no other.
/// </summary>
public interface IGgufArchitecture
{
    /// <summary>llama.cpp's name, written as <c>general.architecture</c> and prefixing the architecture's keys.</summary>
    string Name { get; }

    /// <summary>The config.json <c>model_type</c> a file of this architecture reads back as.</summary>
    string ModelType { get; }

    /// <summary>Whether checkpoints of <paramref name="family"/> export as this architecture.</summary>
    bool Takes(ModelFamily family);

    /// <summary>
    /// Refuses a config this architecture's llama.cpp graph would compute differently (or could not load), naming
    /// the config.json field in <paramref name="directory"/>.
    /// </summary>
    void CheckRepresentable(ModelConfig config, string directory);

    /// <summary>The <c>&lt;arch&gt;.*</c> keys the converter writes for <paramref name="config"/>, in its order.</summary>
    IEnumerable<(string Key, GgufValue Value)> Hyperparameters(ModelConfig config);

    /// <summary>Tensors that hold config values rather than weights (Phi-3's LongRoPE factors), written before the weights.</summary>
    IEnumerable<(string Name, float[] Values)> ExtraTensors(ModelConfig config);

    /// <summary>Whether HF parameter <paramref name="hf"/> is written at all (the converter skips Gemma 2's lm_head).</summary>
    bool Writes(string hf);

    /// <summary>
    /// Whether a model whose head is tied to its embedding also gets the embedding written as <c>output.weight</c>:
    /// llama.cpp's graph for the architecture has no tied head and will not load a file without that tensor (olmo2,
    /// stablelm). Read back, such a file's head is untied, with the embedding's values.
    /// </summary>
    bool WritesTiedHead { get; }

    /// <summary>The GGUF name of HF parameter <paramref name="hf"/>, or null if it has none.</summary>
    string? TensorName(string hf);

    /// <summary>
    /// The PyTorch shape GGUF tensor <paramref name="gguf"/> is written in, given its HF parameter's
    /// <paramref name="shape"/> (the converter squeezes Qwen3.5's conv1d [C, 1, K] to [C, K]); read back, a tensor
    /// of this shape takes the HF one.
    /// </summary>
    long[] GgufShape(string gguf, long[] shape);

    /// <summary>
    /// Where HF parameter <paramref name="hf"/> is one slice of a GGUF tensor that stacks several along a new outermost
    /// dimension (the converter merges each layer's experts into one 3-D <c>blk.N.ffn_{gate,up,down}_exps</c>): that
    /// tensor's name, the slice's index in it and the number of slices; else null (the parameter is a tensor of its own,
    /// <see cref="TensorName"/>).
    /// </summary>
    (string Gguf, int Index, int Count)? MergedInto(string hf, ModelConfig config);

    /// <summary>The inverse of <see cref="MergedInto"/>: the HF parameters GGUF tensor <paramref name="gguf"/> stacks, in order; null when it stacks none.</summary>
    IReadOnlyList<string>? HfSlices(string gguf, ModelConfig config);

    /// <summary>
    /// <paramref name="values"/> (HF layout, PyTorch <paramref name="shape"/>) as the converter writes GGUF tensor
    /// <paramref name="gguf"/>; the array may be changed in place and returned.
    /// </summary>
    float[] ToGguf(string gguf, long[] shape, float[] values, ModelConfig config);

    /// <summary>The model <paramref name="file"/>'s metadata describes; tensors are only looked at for their presence and shapes.</summary>
    ModelConfig ReadConfig(GgufFile file);

    /// <summary>The GGUF key (or tensor) a config.json dimension of an imported model comes from, for errors.</summary>
    string KeyOf(string configField);

    /// <summary>Whether GGUF tensor <paramref name="gguf"/> was read into the config (<see cref="ReadConfig"/>) rather than being a weight.</summary>
    bool IsConfigTensor(string gguf);

    /// <summary>The HF parameter name of GGUF tensor <paramref name="gguf"/> in a model of <paramref name="config"/>, or null if it has none.</summary>
    string? HfName(string gguf, ModelConfig config);

    /// <summary>The inverse of <see cref="ToGguf"/>: GGUF tensor <paramref name="gguf"/>'s values in HF layout.</summary>
    float[] ToHf(string gguf, long[] shape, float[] values, ModelConfig config);

    /// <summary>
    /// Whether <see cref="ToHf"/> leaves GGUF tensor <paramref name="gguf"/>'s values as stored, so that its blocks can
    /// serve as the HF weight without being decoded (<see cref="GgufImport.Load(string, bool)"/>).
    /// </summary>
    bool ReadsUnchanged(string gguf, ModelConfig config);

    /// <summary>
    /// Where <see cref="ToHf"/> only reorders GGUF tensor <paramref name="gguf"/>'s rows (Llama's q/k): for each HF row, the GGUF row
    /// it comes from; else null. Such a tensor's blocks are kept with their rows moved.
    /// </summary>
    int[]? HfRowSources(string gguf, long[] shape, ModelConfig config);
}
