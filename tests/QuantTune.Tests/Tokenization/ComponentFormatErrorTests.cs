using System.Text.Json.Nodes;

namespace QuantTune.Tests.Tokenization;

using QuantTune.Tokenization;

/// <summary>
/// A malformed or unknown component of tokenizer.json (wrong field type, missing field, out-of-range value, an
/// unknown or unsupported type) is a <see cref="TokenizerFormatException"/> naming the file and the JSON path.
/// </summary>
public sealed class ComponentFormatErrorTests : IDisposable
{
    private readonly SyntheticTokenizer _files = new();

    public void Dispose() => _files.Dispose();

    public static TheoryData<string, string, string, string> Cases => new()
    {
        // slot, component JSON, the field named, a phrase of the message
        { "normalizer", """{"type":"Lowercaser"}""", "normalizer.type", "expected a known normalizer type: Sequence, Prepend, Replace, NFC" },
        { "normalizer", """{"type":"Strip","strip_left":"yes","strip_right":true}""", "normalizer.strip_left", "expected true or false" },
        { "normalizer", """{"type":"Strip","strip_left":true}""", "normalizer.strip_right", "is missing" },
        { "normalizer", """{"type":"Sequence","normalizers":[{"type":"NFC"},{"type":7}]}""", "normalizer.normalizers[1].type", "expected a string" },
        { "normalizer", """{"type":"Sequence","normalizers":{"type":"NFC"}}""", "normalizer.normalizers", "expected a JSON array" },
        { "normalizer", """{"type":"Replace","pattern":{"String":""},"content":"x"}""", "normalizer.pattern.String", "is empty" },
        { "normalizer", """{"type":"Replace","pattern":{"Regex":"(unclosed"},"content":"x"}""", "normalizer.pattern", "cannot be used" },
        { "normalizer", """{"type":"Precompiled","precompiled_charsmap":"ALQCAACEAAAAAACAAQAAgMz8AgC4BQAAhyIAgMzkAgC4PQAAeyIAgMzsAgC4BQAAiyIAgMw8AADNvAAAmwkAgJ4JAIChCQCAgx0AAIAZAACBGQAAPR0AgDUdAIBNHQCARR0AgIAxAACBMQAApwkAgIk5AAC"}""", "normalizer.precompiled_charsmap", "SentencePiece's compiled normalization rules" },
        { "pre_tokenizer", """{"type":"UnicodeScripts"}""", "pre_tokenizer.type", "no script table" },
        { "pre_tokenizer", """{"type":"Whitespaces"}""", "pre_tokenizer.type", "expected a known pre-tokenizer type: Sequence, ByteLevel, Split, Metaspace, Digits, Whitespace" },
        { "pre_tokenizer", """{"type":"Punctuation","behavior":"Isolate"}""", "pre_tokenizer.behavior", "expected one of 'Removed'" },
        { "pre_tokenizer", """{"type":"CharDelimiterSplit","delimiter":"ab"}""", "pre_tokenizer.delimiter", "expected a one-character string" },
        { "pre_tokenizer", """{"type":"CharDelimiterSplit"}""", "pre_tokenizer.delimiter", "is missing" },
        { "pre_tokenizer", """{"type":"FixedLength","length":0}""", "pre_tokenizer.length", "expected a positive number" },
        { "pre_tokenizer", """{"type":"FixedLength","length":1e30}""", "pre_tokenizer.length", "expected an integer" },
        { "pre_tokenizer", """{"type":"Metaspace","replacement":"▁","prepend_scheme":"sometimes"}""", "pre_tokenizer.prepend_scheme", "expected 'first', 'always' or 'never'" },
        { "model", """{"type":"WordPiece","vocab":{"a":0},"max_input_chars_per_word":-1}""", "model.max_input_chars_per_word", "expected a non-negative" },
        { "model", """{"type":"WordPiece","vocab":["a"]}""", "model.vocab", "expected a JSON object" },
        { "model", """{"type":"WordLevel","vocab":{"a":0,"b":0}}""", "model.vocab.b", "expected one id per token" },
        { "model", """{"type":"WordLevel"}""", "model.vocab", "is missing" },
        { "model", """{"type":"Unigram","unk_id":0,"vocab":[]}""", "model.vocab", "is empty" },
        { "model", """{"type":"Unigram","unk_id":5,"vocab":[["a",-1.0]]}""", "model.unk_id", "the index of a piece of model.vocab (0 to 0)" },
        { "model", """{"type":"Unigram","unk_id":0,"vocab":[["a","-1"]]}""", "model.vocab[0][1]", "expected a number" },
        { "model", """{"type":"Unigram","unk_id":0,"vocab":[["a",-1.0,3]]}""", "model.vocab[0]", "expected a [piece, score] pair" },
        { "model", """{"type":"Unigram","unk_id":0,"vocab":[["a",1e999]]}""", "model.vocab[0][1]", "" },
        { "decoder", """{"type":"WordPiece","cleanup":"no"}""", "decoder.cleanup", "expected true or false" },
        { "decoder", """{"type":"Strip","content":" ","start":-1}""", "decoder.start", "expected a non-negative count" },
        { "decoder", """{"type":"BPEDecoder","suffix":""}""", "decoder.suffix", "is empty" },
        { "decoder", """{"type":"Sequence","decoders":[{"type":"Fuse"},{"type":"Fused"}]}""", "decoder.decoders[1].type", "expected a known decoder type: Sequence, ByteLevel" },
        { "post_processor", """{"type":"BertProcessing","sep":["[SEP]"],"cls":["[CLS]",1]}""", "post_processor.sep", "expected a [token, id] pair" },
        { "post_processor", """{"type":"Templated"}""", "post_processor.type", "expected a known post-processor type: TemplateProcessing" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void IsRefusedNamingTheFileAndField(string slot, string component, string field, string phrase)
    {
        JsonObject json = slot == "model" ? WordLevelBase() : SyntheticTokenizer.SentencePieceStyle();
        json[slot] = JsonNode.Parse(component);
        string path = _files.Write(json);

        var e = Assert.Throws<TokenizerFormatException>(() => HfTokenizer.FromFile(path));

        Assert.Contains(path, e.Message);
        Assert.Equal(field, e.Field);
        Assert.Contains(phrase, e.Message);
    }

    [Theory]
    [InlineData("""{"type":"WordLevel","vocab":{"a":0},"unk_token":"<unk>"}""", "model.unk_token")]
    [InlineData("""{"type":"WordPiece","vocab":{"a":0},"unk_token":"[UNK]"}""", "model.unk_token")]
    [InlineData("""{"type":"Unigram","vocab":[["a",-1.0]]}""", "model.unk_id")]
    public void TextTheVocabularyCannotSpellWithoutAnUnknownTokenIsRefusedByField(string model, string field)
    {
        JsonObject json = WordLevelBase();
        json["model"] = JsonNode.Parse(model);
        HfTokenizer tokenizer = HfTokenizer.FromFile(_files.Write(json));
        Assert.Equal([0], tokenizer.Encode("a"));

        var e = Assert.Throws<TokenizerFormatException>(() => tokenizer.Encode("b"));
        Assert.Equal(field, e.Field);
    }

    [Fact]
    public void AnEmptyPrecompiledCharsmapNormalizesNothing()
    {
        JsonObject json = WordLevelBase();
        json["normalizer"] = new JsonObject { ["type"] = "Precompiled", ["precompiled_charsmap"] = null };
        json["model"] = JsonNode.Parse("""{"type":"WordLevel","vocab":{"<unk>":0,"Ab":1},"unk_token":"<unk>"}""");
        Assert.Equal([1], HfTokenizer.FromFile(_files.Write(json)).Encode("Ab"));
    }

    [Fact]
    public void AHugeWordIsOneUnknownTokenNotAHang()
    {
        JsonObject json = WordLevelBase();
        json["model"] = JsonNode.Parse("""{"type":"WordPiece","vocab":{"[UNK]":0,"a":1,"##a":2},"max_input_chars_per_word":2147483647}""");
        HfTokenizer wordPiece = HfTokenizer.FromFile(_files.Write(json));
        Assert.Equal(Enumerable.Repeat(2, 19_999).Prepend(1), wordPiece.Encode(new string('a', 20_000)));
        Assert.Equal([0], wordPiece.Encode(new string('a', 20_000) + "b"));

        json["model"] = JsonNode.Parse("""{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0],["a",-1.0],["aa",-1.5]]}""");
        HfTokenizer unigram = HfTokenizer.FromFile(_files.Write(json));
        Assert.Equal(Enumerable.Repeat(2, 10_000), unigram.Encode(new string('a', 20_000)));
    }

    private static JsonObject WordLevelBase() => new()
    {
        ["version"] = "1.0",
        ["added_tokens"] = new JsonArray(),
        ["normalizer"] = null,
        ["pre_tokenizer"] = null,
        ["post_processor"] = null,
        ["decoder"] = null,
        ["model"] = JsonNode.Parse("""{"type":"WordLevel","vocab":{"<unk>":0,"a":1},"unk_token":"<unk>"}"""),
    };
}
