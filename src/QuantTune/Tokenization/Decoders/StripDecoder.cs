using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary><c>Strip</c>: up to <c>start</c> copies of <c>content</c> removed from the start of each token and up to <c>stop</c> from its end.</summary>
internal sealed class StripDecoder : IDecoderType
{
    public string Type => "Strip";

    public void Add(JsonField node, TokenDecoder decoder)
    {
        string content = node.Required("content", "the character to strip").GetString();
        int start = Count(node, "start");
        int stop = Count(node, "stop");
        decoder.Add(tokens => tokens.Select(t => TokenDecoder.Strip(t, content, start, stop)).ToList());
    }

    private static int Count(JsonField node, string name)
    {
        if (node.Optional(name) is not { } field)
        {
            return 0;
        }

        int count = field.GetInt32();
        return count >= 0 ? count : throw field.Fail("a non-negative count");
    }
}
