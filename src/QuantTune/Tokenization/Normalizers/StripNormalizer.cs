using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary><c>Strip</c>: white space (Unicode White_Space) removed from the start (<c>strip_left</c>) and/or end (<c>strip_right</c>).</summary>
internal sealed class StripNormalizer : INormalizer
{
    public string Type => "Strip";

    public Func<string, string> Create(JsonField node)
    {
        bool left = node.Required("strip_left", "true or false").GetBoolean();
        bool right = node.Required("strip_right", "true or false").GetBoolean();
        return s => left && right ? s.Trim() : left ? s.TrimStart() : right ? s.TrimEnd() : s;
    }
}
