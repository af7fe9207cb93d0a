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

    /// <summary>The <c>general.architecture</c> llama.cpp's converter writes for this family, or null when QuantTune does not export it to GGUF.</summary>
    public virtual string? GgufArchitecture => null;

    /// <summary>The activation config.json names for the MLP (Gemma calls it hidden_activation).</summary>
    internal virtual string ActivationKey => "hidden_act";

    /// <summary>This family's own keys and quirks applied to the shared <paramref name="config"/>.</summary>
    internal abstract ModelConfig Read(JsonField f, ModelConfig config);
}
