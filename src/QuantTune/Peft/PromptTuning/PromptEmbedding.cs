using QuantTune.Diagnostics;
using QuantTune.Tokenization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Peft.PromptTuning;

/// <summary>
/// The learned virtual tokens, <c>prompt_embeddings</c> [n, hidden] (PEFT's saved key), and
/// their initialisation from a frozen embedding table.
/// </summary>
public static class PromptEmbedding
{
    /// <summary>
    /// Initial prompt values [n, hidden] in <paramref name="dtype"/> on the CPU:
    /// N(0, 1), rows at random token ids, or the embeddings of a text's tokens
    /// (<see cref="HfTokenizer.Encode"/> with special tokens, as PEFT calls the tokenizer), repeated
    /// then cut to n.
    /// </summary>
    public static Tensor Initial(Tensor embeddingTable, PromptTuningConfig config, HfTokenizer? tokenizer, Generator generator, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        int n = config.NumVirtualTokens;
        long vocab = embeddingTable.shape[0], hidden = embeddingTable.shape[1];
        var table = embeddingTable.detach().cpu();
        Tensor values;
        switch (config.Init)
        {
            case PromptTuningInit.Random:
                values = empty([n, hidden], ScalarType.Float32).normal_(0, 1, generator);
                break;
            case PromptTuningInit.SampleVocab:
                values = table.index_select(0, randint(0, vocab, [n], generator: generator, dtype: ScalarType.Int64));
                break;
            case PromptTuningInit.Text:
                if (string.IsNullOrEmpty(config.InitText)) throw new QuantTuneException("PROMPT_TUNING: TEXT init needs an init text");
                if (tokenizer is null) throw new QuantTuneException("PROMPT_TUNING: TEXT init needs the model's tokenizer");
                var ids = tokenizer.Encode(config.InitText, addSpecialTokens: true);
                if (ids.Count == 0) throw new QuantTuneException($"PROMPT_TUNING: the init text '{config.InitText}' has no tokens");
                var repeated = Enumerable.Range(0, n).Select(i => (long)ids[i % ids.Count]).ToArray();
                values = table.index_select(0, tensor(repeated, ScalarType.Int64));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(config), config.Init, "unknown init");
        }
        return values.to_type(dtype).contiguous().MoveToOuterDisposeScope();
    }
}
