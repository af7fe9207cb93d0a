using QuantTune.IO;

namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>
/// The token ids at which a chat reply ends: generation_config.json's <c>eos_token_id</c> (an id or
/// a list, as Llama 3.1's [128001, 128008, 128009]), config.json's, the tokenizer's EOS, the EOS the
/// template writes, and the end-of-turn markers of the common template families when the
/// vocabulary has them (&lt;|eot_id|&gt;, &lt;|im_end|&gt;, &lt;end_of_turn&gt;, &lt;|end|&gt;, ...).
/// </summary>
public static class EndOfTurnTokens
{
    /// <summary>End-of-turn texts of the template families, in the order they are preferred as llama.cpp's EOT.</summary>
    public static readonly string[] Markers = ["<|eot_id|>", "<|im_end|>", "<end_of_turn>", "<|end|>", "<|eom_id|>", "<｜end▁of▁sentence｜>"];

    public static IReadOnlyList<int> Find(string modelPath, HfTokenizer tokenizer, IEnumerable<int> configEos, string? templateEos)
    {
        var ids = new List<int>();
        void Add(int? id)
        {
            if (id is int i && i >= 0 && !ids.Contains(i)) ids.Add(i);
        }
        string generationConfig = Path.Combine(modelPath, "generation_config.json");
        // An id or a list of ids, as config.json's: anything else is the file's error, by field.
        if (File.Exists(generationConfig))
            foreach (int id in HfJson.Load(generationConfig).IntOrIntArray("eos_token_id")) Add(id);
        foreach (int id in configEos) Add(id);
        Add(tokenizer.EosId);
        Add(tokenizer.TokenToId(templateEos));
        foreach (string marker in Markers) Add(tokenizer.TokenToId(marker));
        return ids;
    }

    /// <summary>llama.cpp's <c>tokenizer.ggml.eot_token_id</c>: the first family end-of-turn marker in the list, else the first id that is not EOS.</summary>
    public static int? EndOfTurnId(IReadOnlyList<int> ids, HfTokenizer tokenizer, int? eos)
    {
        foreach (string marker in Markers)
            if (tokenizer.TokenToId(marker) is int id && ids.Contains(id)) return id;
        return ids.Where(i => i != eos).Select(i => (int?)i).FirstOrDefault();
    }
}
