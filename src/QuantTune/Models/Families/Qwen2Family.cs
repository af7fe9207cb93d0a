using QuantTune.IO;
using QuantTune.Models.Config;

namespace QuantTune.Models.Families;

/// <summary>Qwen2: Llama's decoder with a bias on q, k and v (not o); sliding window only with use_sliding_window.</summary>
public sealed class Qwen2Family : ModelFamily
{
    public override IReadOnlyList<string> ModelTypes => ["qwen2"];

    internal override ModelConfig Read(JsonField f, ModelConfig c) => c with
    {
        QkvBias = true,
        SlidingWindow = f.OptionalBool("use_sliding_window") == true ? f.OptionalInt("sliding_window") : null,
    };
}
