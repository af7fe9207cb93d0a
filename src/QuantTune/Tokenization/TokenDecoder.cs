using QuantTune.IO;
using System.Globalization;
using System.Text;

namespace QuantTune.Tokenization;

/// <summary>One decoder type of tokenizer.json: adds its steps to a decoder.</summary>
internal interface IDecoderType : ITokenizerComponent
{
    void Add(JsonField node, TokenDecoder decoder);
}

/// <summary>
/// The <c>decoder</c> of tokenizer.json: a chain of steps turning token strings back into text, each type a class
/// registered in <see cref="Types"/>. Invalid UTF-8 becomes U+FFFD, as in Hugging Face tokenizers.
/// </summary>
internal sealed class TokenDecoder
{
    /// <summary>Every decoder type, one line each.</summary>
    public static readonly ComponentRegistry<IDecoderType> Types = new(
        "decoder",
        new SequenceDecoder(),
        new ByteLevelDecoder(),
        new ReplaceDecoder(),
        new ByteFallbackDecoder(),
        new FuseDecoder(),
        new StripDecoder(),
        new MetaspaceDecoder(),
        new WordPieceDecoder(),
        new BpeDecoder(),
        new CtcDecoder());

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

    /// <summary>The text of <paramref name="tokens"/>; with no decoder, the tokens joined by spaces, as Hugging Face tokenizers joins them.</summary>
    public string Decode(List<string> tokens)
    {
        return _steps.Count == 0 ? string.Join(' ', tokens) : string.Concat(_steps.Aggregate(tokens, (acc, step) => step(acc)));
    }

    /// <summary>Adds the steps of one decoder node (of any registered type).</summary>
    public void Add(JsonField node) => Types.Find(node).Add(node, this);

    /// <summary>Appends one step: the token strings so far to the next ones.</summary>
    public void Add(Func<List<string>, List<string>> step) => _steps.Add(step);

    internal static List<string> DecodeByteLevel(List<string> tokens)
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
    internal static List<string> DecodeByteFallback(List<string> tokens)
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

    internal static string Strip(string token, string content, int start, int stop)
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
