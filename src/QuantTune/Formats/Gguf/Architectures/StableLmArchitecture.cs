using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Families;

namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>
/// <c>stablelm</c>: convert_hf_to_gguf.py's StableLMModel (llama.cpp release v0.5.0, conversion/stablelm.py; graph in
/// src/models/stablelm.cpp): its own keys (the rotated dimensions int(partial_rotary_factor · hidden / heads),
/// <c>use_parallel_residual</c>, LayerNorm's ε as <c>attention.layer_norm_epsilon</c>), llama's tensor names with the
/// LayerNorms' biases (attn_norm, ffn_norm, output_norm) and the q/k/v biases, rows not permuted (llama.cpp's stablelm
/// rotates halves of the first rotated dimensions, as Hugging Face does). llama.cpp's stablelm requires output.weight,
/// so a tied head is written as one (<see cref="WritesTiedHead"/>).
/// </summary>
public sealed class StableLmArchitecture : TextModelArchitecture
{
    /// <inheritdoc/>
    public override string Name => "stablelm";

    /// <inheritdoc/>
    public override bool Takes(ModelFamily family) => family is StableLmFamily;

    /// <summary>
    /// StableLMModel.set_gguf_parameters: context, sizes, rotated dimensions, head counts, the parallel residual (false:
    /// QuantTune builds none) and LayerNorm's ε; then the RoPE base and linear scaling, which the converter leaves out
    /// (llama.cpp would take a base of 10000) but llama.cpp reads for every architecture.
    /// </summary>
    public override IEnumerable<(string Key, GgufValue Value)> Hyperparameters(ModelConfig config)
    {
        yield return (Key("context_length"), GgufValue.Of((uint)config.MaxPositionEmbeddings));
        yield return (Key("embedding_length"), GgufValue.Of((uint)config.HiddenSize));
        yield return (Key("block_count"), GgufValue.Of((uint)config.NumLayers));
        yield return (Key("feed_forward_length"), GgufValue.Of((uint)config.IntermediateSize));
        yield return (Key("rope.dimension_count"), GgufValue.Of((uint)config.RotaryDimOf(config.HeadDim)));
        yield return (Key("attention.head_count"), GgufValue.Of((uint)config.NumHeads));
        yield return (Key("attention.head_count_kv"), GgufValue.Of((uint)config.NumKvHeads));
        yield return (Key("use_parallel_residual"), GgufValue.Of(false));
        yield return (Key(NormEpsilonKey), GgufValue.Of((float)config.RmsNormEps));
        foreach (var kv in PositionKeys(config)) yield return kv;
    }

    /// <summary>LayerNorm's ε.</summary>
    protected override string NormEpsilonKey => "attention.layer_norm_epsilon";

    /// <inheritdoc/>
    public override bool WritesTiedHead => true;

    /// <summary>StableLM's head size is hidden / heads (StableLmAttention's).</summary>
    protected override int HeadDim(GgufFile file, int hidden, int heads) => heads > 0 ? hidden / heads : 0;

    /// <summary>
    /// TextModel's config with StableLM's decoder: LayerNorms with biases, RoPE on <c>rope.dimension_count</c> of each
    /// head's dimensions, no bias on o_proj or the MLP. A parallel-residual file (StableLM-2-12B: no ffn_norm) is refused
    /// by the missing tensor, as QuantTune builds no parallel residual.
    /// </summary>
    public override ModelConfig ReadConfig(GgufFile file)
    {
        var c = base.ReadConfig(file);
        string key = Key("rope.dimension_count");
        int rotary = OptInt(file, key) ?? c.HeadDim;
        if (rotary <= 0 || rotary > c.HeadDim || rotary % 2 != 0)
            throw new InvalidFormatException(file.Path, key, $"is {rotary}; expected a positive even number up to the head size {c.HeadDim}");
        return c with
        {
            Norm = NormKind.LayerNorm,
            PartialRotaryFactor = (double)rotary / c.HeadDim,
            OutputBias = false,
            MlpBias = false,
        };
    }
}
