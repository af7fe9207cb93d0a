using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.SideTuning;

/// <summary>The downsampler that maps a backbone hidden state (h) to the side network's width (h/r).</summary>
public enum DownsamplerKind
{
    /// <summary>Linear(h→bottleneck) → activation → Linear(bottleneck→h/r) → LayerNorm (the official AdapterLinear).</summary>
    Adapter,
    /// <summary>One Linear(h→h/r).</summary>
    Linear,
    /// <summary>Low-rank Linear(h→bottleneck) → Linear(bottleneck→h/r), no activation.</summary>
    Lora,
    /// <summary>Max over each group of r consecutive features (no parameters).</summary>
    MaxPool,
    /// <summary>Mean over each group of r consecutive features (no parameters).</summary>
    AvgPool,
}

/// <summary>How many downsamplers the side network has, and what the embeddings go through.</summary>
public enum DownsamplerLayout
{
    /// <summary>
    /// As the official code builds it (modeling_llama_qst.py): one downsampler per fed layer,
    /// the first serving both the embeddings and that layer's output, and AdapterLinear without biases.
    /// </summary>
    Official,
    /// <summary>One downsampler for the embeddings and one per fed layer, the adapter's linears with biases: side networks QuantTune saved before this layout existed.</summary>
    PerInput,
}

/// <summary>
/// Quantized Side Tuning settings (arXiv 2401.07159; docs/design.md §2): reduction factor r, the
/// downsampler and its bottleneck and activation, and which backbone layers feed the side
/// network (all by default).
/// </summary>
public sealed record QstConfig
{
    public int Reduction { get; init; } = 16;
    public int Bottleneck { get; init; } = 16;
    public DownsamplerKind Downsampler { get; init; } = DownsamplerKind.Adapter;
    public string Activation { get; init; } = "silu";
    /// <summary>Backbone layers (0-based) whose outputs feed the side network; null: every layer.</summary>
    public IReadOnlyList<int>? Layers { get; init; }
    public double GateInit { get; init; } = 0.5;
    public double MixInit { get; init; } = 1.0;
    public DownsamplerLayout Layout { get; init; } = DownsamplerLayout.Official;
    /// <summary>
    /// Keeps the output mix λ at its initial value. The paper trains λ; the official code's
    /// <c>nn.Parameter(...).to(device)</c> leaves it an unregistered tensor on a GPU, so its runs
    /// never trained it. This reproduces them.
    /// </summary>
    public bool FreezeMix { get; init; }
    /// <summary>
    /// The dtype of the side network's weights, of its activations and of the backbone states fed
    /// to it: fp32, or bf16 as the official run keeps them (its norms stay fp32 and compute in
    /// fp32; AdamW's moments are fp32 either way, as bitsandbytes' 32-bit optimizers keep them).
    /// </summary>
    public ScalarType SideDType { get; init; } = ScalarType.Float32;

    /// <summary>A <see cref="SideDType"/> by name: fp32 or bf16 (also float32, bfloat16).</summary>
    public static ScalarType ParseSideDType(string name) => name.Trim().ToLowerInvariant() switch
    {
        "fp32" or "float32" => ScalarType.Float32,
        "bf16" or "bfloat16" => ScalarType.BFloat16,
        _ => throw new InvalidSettingException("QstConfig.SideDType", name, "expected fp32 or bf16 (fp16 training needs loss scaling, which QuantTune does not build)"),
    };

    /// <summary>How many downsamplers the layout has for <paramref name="fed"/> fed layers.</summary>
    public int DownsamplerCount(int fed) => Layout == DownsamplerLayout.Official ? fed : fed + 1;

    /// <summary>The downsampler that side step <paramref name="k"/> applies to its backbone state (the first serves the embeddings too in the official layout).</summary>
    public int DownsamplerOf(int k) => Layout == DownsamplerLayout.Official ? k : k + 1;

    /// <summary>Whether the adapter downsampler's two linears have biases (the official AdapterLinear has none).</summary>
    public bool AdapterBias => Layout == DownsamplerLayout.PerInput;

    public IReadOnlyList<int> LayersOf(ModelConfig backbone) => Layers ?? Enumerable.Range(0, backbone.NumLayers).ToArray();

    /// <summary>
    /// The side network's own decoder config: hidden h/r, intermediate i/r, the same head count,
    /// and the backbone family's layer shape (its norms, a dense MLP even under a mixture of experts, softmax attention in every layer even under a hybrid backbone, q/k norms (a whole-projection one as wide as the side's projections), soft-caps, fused projections,
    /// partial RoPE; side layer k slides and rotates where the backbone layer that feeds it does), without biases.
    /// </summary>
    public ModelConfig SideConfig(ModelConfig b)
    {
        if (b.LayersNeedMoreThanTheirInput is string why)
            throw new QuantTuneException($"QST runs the backbone's layers one at a time, which {why} does not allow; not supported");
        Validate(b);
        var fed = LayersOf(b);
        return b with
        {
            SlidingLayers = b.SlidingLayers is null ? null : fed.Select(b.IsSliding).ToArray(),
            // Side layer k rotates where the backbone layer that feeds it does (SmolLM3's no-RoPE layers).
            RopeLayers = b.RopeLayers is null ? null : fed.Select(l => b.RopeLayers[l]).ToArray(),
            QueryPreAttentionScalar = b.QueryPreAttentionScalar / Reduction,
            // Granite's attention multiplier keeps its ratio to the default scale of the narrower side heads: ×√r, as head_dim^-½ grows.
            AttentionMultiplier = b.AttentionMultiplier * Math.Sqrt(Reduction),
            HiddenSize = b.HiddenSize / Reduction,
            IntermediateSize = Math.Max(1, b.IntermediateSize / Reduction),
            HeadDim = b.HeadDim / Reduction,
            // LongRoPE's factor lists are per rotated pair of the backbone's heads; the narrower side heads take its base only.
            Rope = b.Rope.Type == "longrope" ? new RopeConfig(b.Rope.Theta) : b.Rope,
            // A partial rotary share that leaves narrow side heads no even number of dimensions rotates them whole.
            PartialRotaryFactor = SideRotates(b) ? b.PartialRotaryFactor : 1.0,
            NumLayers = LayersOf(b).Count,
            QkvBias = false,
            OutputBias = false,
            MlpBias = false,
            // gpt-oss's attention sinks stay with the backbone: the side layers' attention is the plain softmax.
            AttentionSinks = false,
            // A mixture-of-experts backbone feeds a dense side network: every side layer's MLP has intermediate_size / r.
            Experts = null,
            // A hybrid backbone (Qwen3.5's linear-attention layers) feeds a side network of softmax attention only.
            LinearAttention = null,
            CheckpointStack = null,
        };
    }

    bool SideRotates(ModelConfig b) => b.RotaryDimOf(b.HeadDim / Reduction) is int d && d > 0 && d % 2 == 0;

    /// <summary>
    /// Checks the settings against the backbone <paramref name="b"/>. Errors name the property
    /// (an <see cref="InvalidSettingException"/>), or,
    /// when the settings were read from <paramref name="file"/> (a saved side network's
    /// qst_config.json), that file and its field.
    /// </summary>
    public void Validate(ModelConfig b, string? file = null)
    {
        QuantTuneException Fail(string property, string field, object value, string problem) =>
            file is null ? new InvalidSettingException($"QstConfig.{property}", value, problem) : new InvalidFormatException(file, field, $"{value}: {problem}");
        if (Reduction < 1) throw Fail(nameof(Reduction), "reduction", Reduction, "expected a positive integer");
        if (b.HiddenSize % Reduction != 0)
            throw Fail(nameof(Reduction), "reduction", Reduction, $"does not divide the hidden size ({b.HiddenSize})");
        if (b.HeadDim % Reduction != 0 || (b.HeadDim / Reduction) % 2 != 0)
            throw Fail(nameof(Reduction), "reduction", Reduction, $"the side network keeps the {b.NumHeads} heads, so it must divide the head size ({b.HeadDim}) and leave an even size for RoPE");
        if ((b.HiddenSize / Reduction) % b.NumHeads != 0)
            throw Fail(nameof(Reduction), "reduction", Reduction, $"the side hidden size {b.HiddenSize / Reduction} is not a multiple of the head count ({b.NumHeads})");
        if (Bottleneck < 1) throw Fail(nameof(Bottleneck), "bottleneck", Bottleneck, "expected a positive integer");
        if (Activation is not ("silu" or "swish" or "relu" or "gelu" or "tanh"))
            throw Fail(nameof(Activation), "activation", Activation, "expected silu (swish), relu, gelu or tanh");
        if (SideDType is not (ScalarType.Float32 or ScalarType.BFloat16))
            throw Fail(nameof(SideDType), "side_dtype", TorchRuntime.Name(SideDType), "expected fp32 or bf16 (fp16 training needs loss scaling, which QuantTune does not build)");
        var layers = LayersOf(b);
        if (layers.Count == 0 || layers.Any(l => l < 0 || l >= b.NumLayers) || layers.Distinct().Count() != layers.Count || !layers.SequenceEqual(layers.Order()))
            throw Fail(nameof(Layers), "layers", string.Join(",", layers), $"expected distinct increasing layer indices from 0 to {b.NumLayers - 1}");
    }
}
