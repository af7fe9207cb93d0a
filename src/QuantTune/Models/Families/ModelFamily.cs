using QuantTune.IO;
using QuantTune.Models.Config;

namespace QuantTune.Models.Families;

/// <summary>
/// A model family: the <c>model_type</c>s it reads and what it changes on the one shared decoder
/// (<see cref="ModelConfig"/>'s family fields: norm kind, norm placement, q/k norms, query scale,
/// soft-caps, embedding scale, sliding-window layers and their RoPE base). The shared keys
/// (sizes, heads, head_dim, RoPE, ids) are read before <see cref="Read"/>; a family reads only
/// its own keys and sets only what differs. Every family is listed in <see cref="ModelFamilies"/>.
/// </summary>
public abstract class ModelFamily
{
    /// <summary>The config.json <c>model_type</c> values this family reads.</summary>
    public abstract IReadOnlyList<string> ModelTypes { get; }

    /// <summary>The activation config.json names for the MLP (Gemma calls it hidden_activation).</summary>
    internal virtual string ActivationKey => "hidden_act";

    /// <summary>The activation when config.json names none.</summary>
    internal virtual string DefaultActivation => ActivationKey == "hidden_act" ? "silu" : "gelu_pytorch_tanh";

    /// <summary>
    /// The key this family's config.json uses for a shared key (GPT2Config's attribute_map: n_embd
    /// for hidden_size, ...), the first of its names the file has.
    /// </summary>
    internal virtual string KeyOf(JsonField f, string sharedKey) => sharedKey;

    /// <summary>tie_word_embeddings when config.json does not say (Gemma's and GPT-2's configs tie by default).</summary>
    internal virtual bool TiedByDefault => false;

    /// <summary>The norm epsilon when config.json gives none (GPT2Config's layer_norm_epsilon is 1e-5).</summary>
    internal virtual double DefaultNormEps => 1e-6;

    /// <summary>max_position_embeddings when config.json gives none (GPT2Config's n_positions is 1024).</summary>
    internal virtual int DefaultMaxPositions => 2048;

    /// <summary>The intermediate size when config.json gives none (GPT-2's n_inner: null is 4 × hidden); null: the key is required.</summary>
    internal virtual int? DefaultIntermediateSize(int hidden) => null;

    /// <summary>
    /// Where the decoder's keys are: the file itself, or a nested object for a checkpoint that
    /// holds more than the text model (Qwen3.5's text_config beside its vision_config).
    /// </summary>
    internal virtual JsonField TextConfig(JsonField f) => f;

    /// <summary>This family's own keys and quirks applied to the shared <paramref name="config"/>.</summary>
    internal abstract ModelConfig Read(JsonField f, ModelConfig config);
}
