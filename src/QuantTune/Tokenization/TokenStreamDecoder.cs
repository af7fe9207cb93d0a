namespace QuantTune.Tokenization;

/// <summary>
/// Decodes generated ids one at a time into text, as Hugging Face tokenizers' DecodeStream does:
/// each id is decoded together with the ids before it, and only the text beyond what those
/// decode to is returned, so that SentencePiece-style word marks ("▁there" after a prompt reads
/// " there") and UTF-8 characters split over byte tokens come out right. Text that ends inside a
/// character is held back until the character is complete.
/// </summary>
public sealed class TokenStreamDecoder
{
    readonly HfTokenizer _tokenizer;
    readonly bool _skipSpecialTokens;
    List<int> _ids;
    string _prefix;
    int _prefixIndex;

    /// <param name="context">the ids the generated ones follow (the prompt), so that the first new word is decoded in its context</param>
    public TokenStreamDecoder(HfTokenizer tokenizer, IEnumerable<int>? context = null, bool skipSpecialTokens = true)
    {
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
        _ids = context?.ToList() ?? [];
        _prefix = Decode(_ids);
        _prefixIndex = _ids.Count;
    }

    /// <summary>The text that <paramref name="id"/> completes ("" while a character is still incomplete).</summary>
    public string Add(int id)
    {
        _ids.Add(id);
        var text = Decode(_ids);
        if (text.Length <= _prefix.Length || text.EndsWith('\uFFFD') || !text.StartsWith(_prefix, StringComparison.Ordinal)) return "";
        var added = text[_prefix.Length..];
        _ids = _ids[_prefixIndex..];
        _prefix = Decode(_ids);
        _prefixIndex = _ids.Count;
        return added;
    }

    /// <summary>Whatever is held back at the end (an incomplete character decodes to U+FFFD).</summary>
    public string Flush()
    {
        var text = Decode(_ids);
        return text.Length > _prefix.Length && text.StartsWith(_prefix, StringComparison.Ordinal) ? text[_prefix.Length..] : "";
    }

    string Decode(List<int> ids) => ids.Count == 0 ? "" : _tokenizer.Decode(ids, _skipSpecialTokens);
}
