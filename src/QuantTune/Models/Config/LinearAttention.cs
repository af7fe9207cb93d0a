using QuantTune.IO;

namespace QuantTune.Models.Config;

/// <summary>
/// The linear-attention layers of a hybrid decoder (Qwen3.5's Gated DeltaNet, transformers'
/// Qwen3_5GatedDeltaNet): which layers mix tokens through it instead of softmax attention
/// (<c>layer_types</c>, or every layer but each <c>full_attention_interval</c>-th), and its sizes:
/// <see cref="NumKeyHeads"/> query/key heads of <see cref="KeyHeadDim"/>, <see cref="NumValueHeads"/>
/// value heads of <see cref="ValueHeadDim"/> (each query/key head serves NumValueHeads /
/// NumKeyHeads consecutive value heads), and a depthwise causal convolution of
/// <see cref="ConvKernel"/> taps over the query, key and value channels.
/// </summary>
public sealed record LinearAttention
{
    public required int NumKeyHeads { get; init; }
    public required int NumValueHeads { get; init; }
    public required int KeyHeadDim { get; init; }
    public required int ValueHeadDim { get; init; }
    /// <summary>linear_conv_kernel_dim: the causal convolution's taps.</summary>
    public required int ConvKernel { get; init; }
    /// <summary>Per layer: true where the layer is linear attention, false where it is full attention.</summary>
    public required IReadOnlyList<bool> Layers { get; init; }

    /// <summary>Query (and key) channels: heads × head size.</summary>
    public int KeyDim => NumKeyHeads * KeyHeadDim;
    /// <summary>Value channels: heads × head size.</summary>
    public int ValueDim => NumValueHeads * ValueHeadDim;
    /// <summary>The channels the convolution runs over: queries, keys and values.</summary>
    public int ConvDim => 2 * KeyDim + ValueDim;

    /// <summary>Whether layer <paramref name="layer"/> is a linear-attention layer.</summary>
    public bool IsLinear(int layer) => Layers[layer];

    /// <summary>The layer types transformers writes in config.json's layer_types.</summary>
    public IEnumerable<string> LayerTypes => Layers.Select(l => l ? "linear_attention" : "full_attention");

    /// <summary>
    /// Qwen3_5TextConfig's linear-attention keys, defaults as its own (16 key heads of 128, 32 value
    /// heads of 128, 4 taps, a full-attention layer every 4th). Errors name the file and the key.
    /// </summary>
    internal static LinearAttention Read(JsonField f, int layers)
    {
        int Dim(string key, int fallback, int max)
        {
            int value = f.OptionalInt(key) ?? fallback;
            return value >= 1 && value <= max ? value : throw f.Invalid(key, $"is {value}; expected 1 to {max}");
        }
        int keyHeads = Dim("linear_num_key_heads", 16, ModelDimensionLimits.MaxHeads);
        int valueHeads = Dim("linear_num_value_heads", 32, ModelDimensionLimits.MaxHeads);
        if (valueHeads % keyHeads != 0)
            throw f.Invalid("linear_num_value_heads", $"{valueHeads} is not a multiple of linear_num_key_heads ({keyHeads})");
        return new LinearAttention
        {
            NumKeyHeads = keyHeads,
            NumValueHeads = valueHeads,
            KeyHeadDim = Dim("linear_key_head_dim", 128, ModelDimensionLimits.MaxHeadDim),
            ValueHeadDim = Dim("linear_value_head_dim", 128, ModelDimensionLimits.MaxHeadDim),
            ConvKernel = Dim("linear_conv_kernel_dim", 4, 64),
            Layers = ReadLayers(f, layers),
        };
    }

    static bool[] ReadLayers(JsonField f, int layers)
    {
        if (f.Optional("layer_types") is not JsonField list)
        {
            int interval = f.OptionalInt("full_attention_interval") ?? 4;
            if (interval < 1) throw f.Invalid("full_attention_interval", $"is {interval}; expected a positive integer");
            return Enumerable.Range(0, layers).Select(i => (i + 1) % interval != 0).ToArray();
        }
        var types = list.Items().Select((item, i) => item.GetString() switch
        {
            "linear_attention" => true,
            "full_attention" or "attention" => false,
            var other => throw item.Invalid($"is '{other}'; expected linear_attention or full_attention"),
        }).ToArray();
        if (types.Length != layers)
            throw f.Invalid("layer_types", $"lists {types.Length} layers; num_hidden_layers is {layers}");
        return types;
    }
}
