using System.Text.Json;
using QuantTune.Diagnostics;

namespace QuantTune.Hub;

/// <summary>
/// The files of a Hub repository that QuantTune reads: the top-level JSON files (config,
/// generation config, tokenizer config, quantization and adapter configs), tokenizer files,
/// chat templates, and the safetensors weights: the shards an index names, or the one
/// <c>model.safetensors</c>.
/// </summary>
public static class HubModelFiles
{
    public const string Index = "model.safetensors.index.json";
    public const string SingleFile = "model.safetensors";

    static readonly string[] TokenizerFiles = ["tokenizer.model", "merges.txt", "vocab.txt", "chat_template.jinja"];

    /// <summary>The names to try when the Hub did not list the repository's files.</summary>
    public static readonly string[] Usual =
        ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model", "chat_template.jinja", Index, SingleFile];

    /// <summary>The files to fetch before the weights, from the repository's file list.</summary>
    public static IReadOnlyList<string> Metadata(IReadOnlyList<string> repoFiles) =>
        repoFiles.Count == 0 ? Usual.Where(f => f != SingleFile).ToList()
        : repoFiles.Where(f => !f.Contains('/') && (f.EndsWith(".json", StringComparison.Ordinal) || f.EndsWith(".jinja", StringComparison.Ordinal) || TokenizerFiles.Contains(f)))
            .Order(StringComparer.Ordinal).ToList();

    /// <summary>The weight files: the shards named by the index (when there is one), else model.safetensors, else the top-level .safetensors files.</summary>
    public static IReadOnlyList<string> Weights(string? indexPath, IReadOnlyList<string> repoFiles)
    {
        if (indexPath is not null) return Shards(indexPath);
        if (repoFiles.Count == 0 || repoFiles.Contains(SingleFile)) return [SingleFile];
        return repoFiles.Where(f => !f.Contains('/') && f.EndsWith(".safetensors", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>The distinct shard files of a model.safetensors.index.json's weight_map.</summary>
    public static IReadOnlyList<string> Shards(string indexPath) => Formats.Safetensors.ShardIndex.Shards(indexPath);
}
