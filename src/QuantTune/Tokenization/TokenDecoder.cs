using QuantTune.IO;
using System.Globalization;
using System.Text;

namespace QuantTune.Tokenization;

/// <summary>
/// The <c>decoder</c> of tokenizer.json: a chain of steps turning token strings back into text
/// (ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence). Invalid UTF-8 becomes U+FFFD,
/// as in Hugging Face tokenizers.
/// </summary>
internal sealed class TokenDecoder
{
    private const string Supported = "one of ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence";

    private readonly List<Func<List<string>, List<string>>> _steps = new();

    private TokenDecoder()
    {
    }

    public static TokenDecoder Parse(JsonField? decoder)
    {
        var result = new TokenDecoder();
        if (decoder is { } d)
        {
            result.Add(d);
        }

        return result;
    }

    public string Decode(List<string> tokens)
    {
        return string.Concat(_steps.Aggregate(tokens, (acc, step) => step(acc)));
    }

    private void Add(JsonField node)
    {
        JsonField type = node.Required("type", Supported);
        switch (type.GetString())
        {
            case "Sequence":
                foreach (JsonField child in node.Required("decoders", "a list of decoders").Items())
                {
                    Add(child);
                }

                break;
            case "ByteLevel":
                _steps.Add(DecodeByteLevel);
                break;
            case "Replace":
                Func<string, string> replace = TextNormalizer.ParseReplace(node);
                _steps.Add(tokens => tokens.Select(replace).ToList());
                break;
            case "ByteFallback":
                _steps.Add(DecodeByteFallback);
                break;
            case "Fuse":
                _steps.Add(tokens => [string.Concat(tokens)]);
                break;
            case "Strip":
                string content = node.Required("content", "the character to strip").GetString();
                int start = node.OptionalInt("start") ?? 0;
                int stop = node.OptionalInt("stop") ?? 0;
                _steps.Add(tokens => tokens.Select(t => Strip(t, content, start, stop)).ToList());
                break;
            case "Metaspace":
                string replacement = node.Required("replacement", "a one-character string such as '▁'").GetString();
                bool stripFirst = node.OptionalString("prepend_scheme") is { } scheme ? scheme != "never" : node.OptionalBool("add_prefix_space") ?? true;
                _steps.Add(tokens => tokens.Select((t, i) =>
                {
                    string s = t.Replace(replacement, " ", StringComparison.Ordinal);
                    return i == 0 && stripFirst && s.StartsWith(' ') ? s[1..] : s;
                }).ToList());
                break;
            default:
                throw type.Fail(Supported);
        }
    }

    private static List<string> DecodeByteLevel(List<string> tokens)
    {
        var bytes = new List<byte>();
        foreach (string token in tokens)
        {
            if (!ByteLevelAlphabet.TryAppendBytes(token, bytes))
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(token));
            }
        }

        return [Encoding.UTF8.GetString(bytes.ToArray())];
    }

    /// <summary>Runs of &lt;0xAB&gt; tokens become the text of their bytes, or one U+FFFD per byte if not valid UTF-8.</summary>
    private static List<string> DecodeByteFallback(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        var pending = new List<byte>();
        var strict = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        foreach (string token in tokens)
        {
            if (token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
                && byte.TryParse(token.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out byte b))
            {
                pending.Add(b);
                continue;
            }

            Flush();
            result.Add(token);
        }

        Flush();
        return result;

        void Flush()
        {
            if (pending.Count == 0)
            {
                return;
            }

            try
            {
                result.Add(strict.GetString(pending.ToArray()));
            }
            catch (DecoderFallbackException)
            {
                result.AddRange(Enumerable.Repeat("\uFFFD", pending.Count));
            }

            pending.Clear();
        }
    }

    private static string Strip(string token, string content, int start, int stop)
    {
        int from = 0;
        int to = token.Length;
        for (int n = 0; n < start && token.AsSpan(from, to - from).StartsWith(content, StringComparison.Ordinal); n++)
        {
            from += content.Length;
        }

        for (int n = 0; n < stop && token.AsSpan(from, to - from).EndsWith(content, StringComparison.Ordinal); n++)
        {
            to -= content.Length;
        }

        return token[from..to];
    }
}
