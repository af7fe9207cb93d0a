using QuantTune.IO;
namespace QuantTune.Tokenization;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> tokenizer: byte-level BPE (GPT-2, Llama-3, Qwen2), BPE with byte fallback
/// and Metaspace (Llama-2, Mistral), Unigram, WordPiece or WordLevel, with the normalizers, pre-tokenizers,
/// decoders and post-processors registered in <see cref="TextNormalizer"/>, <see cref="PreTokenizerPipeline"/>,
/// <see cref="TokenDecoder"/> and <see cref="PostProcessor"/>. Produces the same ids as the Hugging Face tokenizers library.
/// </summary>
public sealed class HfTokenizer
{
    private readonly AddedTokenSplitter _splitter;
    private readonly Func<string, string>? _normalizer;
    private readonly PreTokenizerPipeline _preTokenizer;
    private readonly ITokenModel _model;
    private readonly PostProcessor _postProcessor;
    private readonly TokenDecoder _decoder;
    private readonly Dictionary<int, string> _idToToken = new();
    private readonly Dictionary<string, int> _tokenToId = new(StringComparer.Ordinal);
    private readonly HashSet<int> _specialIds = new();
    private readonly HashSet<int> _addedIds = new();
    private (int Rows, string Where)? _modelRows;

    private HfTokenizer(string path) : this(HfJson.Load(path), Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".")
    {
    }

    /// <summary>A tokenizer from its tokenizer.json <paramref name="root"/>; special-token names from a tokenizer_config.json in <paramref name="directory"/>, when given.</summary>
    private HfTokenizer(JsonField root, string? directory)
    {
        _preTokenizer = PreTokenizerPipeline.Parse(root.Optional("pre_tokenizer"));
        _model = TokenModels.Create(root.Required("model", "the tokenizer model"), _preTokenizer.IsByteLevel);
        _normalizer = TextNormalizer.Parse(root.Optional("normalizer"));
        _postProcessor = PostProcessor.Parse(root.Optional("post_processor"));
        _decoder = TokenDecoder.Parse(root.Optional("decoder"));

        foreach ((string token, int id) in _model.Vocabulary)
        {
            _idToToken[id] = token;
            _tokenToId[token] = id;
        }

        List<AddedToken> added = root.Optional("added_tokens")?.Items().Select(AddedToken.Parse).ToList() ?? [];
        foreach (AddedToken token in added)
        {
            if (_idToToken.TryGetValue(token.Id, out string? other) && other != token.Content)
            {
                throw new TokenizerFormatException(root.File, "added_tokens", $"'{token.Content}' has id {token.Id}, which is already '{other}'; expected one token per id", null);
            }

            _idToToken[token.Id] = token.Content;
            _addedIds.Add(token.Id);
            _tokenToId[token.Content] = token.Id;
            if (token.Special)
            {
                _specialIds.Add(token.Id);
            }
        }

        _splitter = new AddedTokenSplitter(added);
        VocabSize = _idToToken.Count == 0 ? 0 : _idToToken.Keys.Max() + 1;
        foreach (int id in _postProcessor.Prefix.Concat(_postProcessor.Suffix))
        {
            if (!_idToToken.ContainsKey(id))
            {
                throw new TokenizerFormatException(root.File, "post_processor", $"adds token id {id}, which is in neither model.vocab nor added_tokens", null);
            }
        }

        SpecialTokenNames names = directory is null ? new SpecialTokenNames(null, null, null, null) : SpecialTokenNames.Read(Path.Combine(directory, "tokenizer_config.json"));
        Source = root.File;
        BosId = _postProcessor.Prefix.Length > 0 ? _postProcessor.Prefix[0] : TokenToId(names.Bos);
        EosId = _postProcessor.Suffix.Length > 0 ? _postProcessor.Suffix[^1] : TokenToId(names.Eos);
        PadId = TokenToId(names.Pad);
        UnkId = TokenToId(names.Unk) ?? _model.UnknownId;
    }

    /// <summary>The file the tokenizer was read from (named by errors about it).</summary>
    public string Source { get; private set; } = "";

    /// <summary>One more than the largest token id (model vocabulary and added tokens).</summary>
    public int VocabSize { get; }

    public int? BosId { get; }

    public int? EosId { get; }

    public int? PadId { get; }

    public int? UnkId { get; }

    /// <summary>Loads a tokenizer.json; a tokenizer_config.json beside it supplies special-token names.</summary>
    /// <exception cref="TokenizerFormatException">The file is missing, malformed or describes an unsupported tokenizer.</exception>
    public static HfTokenizer FromFile(string tokenizerJsonPath)
    {
        ArgumentNullException.ThrowIfNull(tokenizerJsonPath);
        return new HfTokenizer(tokenizerJsonPath);
    }

    /// <summary>
    /// A tokenizer from tokenizer.json text that came from <paramref name="source"/> (a GGUF file's
    /// metadata, say): every error names <paramref name="source"/>. No tokenizer_config.json is read.
    /// </summary>
    internal static HfTokenizer FromJson(string json, string source)
    {
        using var document = JsonFile.ParseObject(System.Text.Encoding.UTF8.GetBytes(json), source, null, (file, field, problem, inner) => new TokenizerFormatException(file, field, problem, inner));
        return new HfTokenizer(new JsonField(source, document.RootElement.Clone(), (file, field, problem) => new TokenizerFormatException(file, field, problem, null)), null);
    }

    /// <summary>Loads <c>directory/tokenizer.json</c>.</summary>
    public static HfTokenizer FromDirectory(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        return new HfTokenizer(Path.Combine(directory, "tokenizer.json"));
    }

    /// <summary>Encodes text; with <paramref name="addSpecialTokens"/> the post-processor's tokens (e.g. BOS) are added.</summary>
    public IReadOnlyList<int> Encode(string text, bool addSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        if (addSpecialTokens)
        {
            ids.AddRange(_postProcessor.Prefix);
        }

        foreach (AddedTokenSplitter.Segment segment in _splitter.Split(text))
        {
            if (segment.TokenId is int tokenId)
            {
                if (_modelRows is { } limit && tokenId >= limit.Rows)
                {
                    throw new QuantTune.Diagnostics.QuantTuneException(
                        $"{Source}: the text holds the token '{_idToToken[tokenId]}' (id {tokenId}), beyond the model's vocabulary ({limit.Rows} ids, {limit.Where}); the model has no embedding for it");
                }

                ids.Add(tokenId);
                continue;
            }

            string normalized = text.Substring(segment.Start, segment.Length);
            if (_normalizer is not null)
            {
                normalized = _normalizer(normalized);
            }

            foreach (string word in _preTokenizer.Split(normalized, atTextStart: segment.Start == 0))
            {
                _model.Encode(word, ids);
            }
        }

        if (addSpecialTokens)
        {
            ids.AddRange(_postProcessor.Suffix);
        }

        return ids;
    }

    /// <summary>
    /// Decodes ids to text; <paramref name="skipSpecialTokens"/> drops added tokens marked special. An id with no token
    /// (a model whose embedding is padded past the tokenizer, as Qwen's 151,936 rows over 151,665 tokens, can sample
    /// one) is left out, as Hugging Face tokenizers' <c>decode</c> leaves it out.
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var tokens = new List<string>();
        foreach (int id in ids)
        {
            if (skipSpecialTokens && _specialIds.Contains(id))
            {
                continue;
            }

            if (IdToToken(id) is { } token)
            {
                tokens.Add(token);
            }
        }

        return _decoder.Decode(tokens);
    }

    public string? IdToToken(int id) => _idToToken.GetValueOrDefault(id);

    /// <summary>
    /// Binds the tokenizer to a model with <paramref name="rows"/> embedding rows (<paramref name="where"/> names
    /// the setting), as transformers does: added tokens beyond the embedding are allowed (Gemma 3 1B's tokenizer
    /// carries <c>&lt;image_soft_token&gt;</c> one past its <c>vocab_size</c>), and encoding text that holds one
    /// is refused naming the token. Ids that plain text or every encoding would produce beyond it (the model's own
    /// vocabulary, the post-processor's tokens) are refused here, when the model is loaded.
    /// </summary>
    /// <exception cref="TokenizerFormatException">The model's vocabulary or the post-processor reaches past <paramref name="rows"/>.</exception>
    internal void LimitToModel(int rows, string where)
    {
        int modelIds = _model.Vocabulary.Select(v => v.Value + 1).DefaultIfEmpty(0).Max();
        if (modelIds > rows)
        {
            throw Beyond("model.vocab", modelIds - 1, rows, where);
        }

        foreach (int id in _postProcessor.Prefix.Concat(_postProcessor.Suffix).Where(id => id >= rows))
        {
            throw Beyond("post_processor", id, rows, where);
        }

        _modelRows = (rows, where);
    }

    private TokenizerFormatException Beyond(string field, int id, int rows, string where) =>
        new(Source, field, $"id {id} ('{IdToToken(id)}') is beyond the model's vocabulary ({rows} ids, {where}); expected the model's own tokenizer", null);

    /// <summary>Whether <paramref name="id"/> comes from <c>added_tokens</c> rather than the model's vocabulary.</summary>
    public bool IsAddedToken(int id) => _addedIds.Contains(id);

    public int? TokenToId(string? token) => token is not null && _tokenToId.TryGetValue(token, out int id) ? id : null;
}
