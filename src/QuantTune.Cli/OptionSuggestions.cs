using System.CommandLine;

namespace QuantTune.Cli;

/// <summary>
/// "Did you mean" for an option the command does not have: the names that transformers, PEFT
/// and TRL users type (<c>--lora-r</c>, <c>--learning-rate</c>, <c>--output-dir</c>) map to
/// ours, and other near misses are found by edit distance.
/// </summary>
public static class OptionSuggestions
{
    static readonly Dictionary<string, string> Synonyms = new(StringComparer.OrdinalIgnoreCase)
    {
        ["--lora-r"] = "--rank", ["--lora_r"] = "--rank", ["--r"] = "--rank",
        ["--lora-alpha"] = "--alpha", ["--lora_alpha"] = "--alpha",
        ["--lora-dropout"] = "--dropout", ["--lora_dropout"] = "--dropout",
        ["--target-modules"] = "--targets", ["--target_modules"] = "--targets",
        ["--learning-rate"] = "--lr", ["--learning_rate"] = "--lr",
        ["--max-steps"] = "--steps", ["--max_steps"] = "--steps",
        ["--num-train-epochs"] = "--epochs", ["--num_train_epochs"] = "--epochs",
        ["--per-device-train-batch-size"] = "--batch", ["--per_device_train_batch_size"] = "--batch", ["--batch-size"] = "--batch", ["--batch_size"] = "--batch",
        ["--gradient-accumulation-steps"] = "--accumulate", ["--gradient_accumulation_steps"] = "--accumulate",
        ["--output-dir"] = "--out", ["--output_dir"] = "--out", ["--output"] = "--out",
        ["--max-seq-length"] = "--seq", ["--max_seq_length"] = "--seq", ["--max-length"] = "--seq",
        ["--warmup-steps"] = "--warmup", ["--warmup_steps"] = "--warmup",
        ["--lr-scheduler-type"] = "--schedule", ["--lr_scheduler_type"] = "--schedule",
        ["--model-name-or-path"] = "--model", ["--model_name_or_path"] = "--model",
        ["--max-new-tokens"] = "-n", ["--max_new_tokens"] = "-n",
        ["--bits"] = "--scheme",
    };

    /// <summary>The option of <paramref name="command"/> that <paramref name="token"/> most likely meant, or null.</summary>
    public static string? For(string token, Command command)
    {
        var names = command.Options.SelectMany(o => o.Aliases.Prepend(o.Name)).Where(n => n.StartsWith('-')).ToHashSet();
        if (Synonyms.TryGetValue(token, out var synonym) && names.Contains(synonym)) return synonym;
        var best = names.Where(n => n.StartsWith("--")).Select(n => (Name: n, Distance: Distance(token.ToLowerInvariant().Replace('_', '-'), n)))
            .Where(c => c.Distance <= Math.Max(2, c.Name.Length / 4)).OrderBy(c => c.Distance).ThenBy(c => c.Name, StringComparer.Ordinal).FirstOrDefault();
        return best.Name;
    }

    static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }
}
