using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary><c>ByteLevel</c>: adjusts offsets only; adds no token.</summary>
internal sealed class ByteLevelPostProcessor : IPostProcessorType
{
    public string Type => "ByteLevel";

    public void Add(JsonField node, List<int> prefix, List<int> suffix)
    {
    }
}
