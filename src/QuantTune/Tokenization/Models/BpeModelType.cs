using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary><c>BPE</c>: byte-level BPE (GPT-2, Llama-3, Qwen2) or BPE with byte fallback (Llama-2, Mistral).</summary>
internal sealed class BpeModelType : IModelType
{
    public string Type => "BPE";

    public ITokenModel Create(JsonField node, bool byteLevel) => BpeModel.Parse(node, byteLevel);
}
