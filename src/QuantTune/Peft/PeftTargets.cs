using System.Text.RegularExpressions;
using QuantTune.Diagnostics;
using QuantTune.Models.Layers;
using QuantTune.Quantization.Layers;
using static TorchSharp.torch;

namespace QuantTune.Peft;

/// <summary>
/// Which linear layers an adapter wraps, with PEFT's <c>target_modules</c> semantics: a list of
/// names (a module matches when its path equals a name or ends with "." + name, so "q_proj" and
/// "self_attn.q_proj" both work), the shorthand "all-linear" (every linear layer but the LM
/// head), or any other string, which PEFT treats as a regular expression that must match the
/// whole module path.
/// </summary>
public sealed class PeftTargets
{
    public const string AllLinear = "all-linear";
    const string OutputLayer = "lm_head";

    /// <summary>The names, when the targets are a list; null when they are one string.</summary>
    public IReadOnlyList<string>? Names { get; }
    /// <summary>The regular expression or "all-linear", when the targets are one string.</summary>
    public string? Pattern { get; }

    PeftTargets(IReadOnlyList<string>? names, string? pattern)
    {
        Names = names;
        Pattern = pattern;
    }

    public static PeftTargets FromNames(params IEnumerable<string> names) => new(names.ToArray(), null);
    public static PeftTargets FromPattern(string pattern) => new(null, pattern);
    public static PeftTargets AllLinearLayers => new(null, AllLinear);

    public bool IsAllLinear => Pattern == AllLinear;

    public override string ToString() => Names is not null ? "[" + string.Join(", ", Names) + "]" : $"\"{Pattern}\"";

    /// <summary>Whether the module at <paramref name="path"/> is a target (the path alone decides, as in PEFT).</summary>
    public bool Matches(string path)
    {
        if (Names is not null) return Names.Any(n => path == n || path.EndsWith("." + n, StringComparison.Ordinal));
        if (IsAllLinear) return LastSegment(path) != OutputLayer;
        return Regex.IsMatch(path, $"^(?:{Pattern})$", RegexOptions.CultureInvariant);
    }

    /// <summary>
    /// The paths of the linear layers (full-precision or quantized) under <paramref name="root"/>
    /// that the targets select, in module order. Each list entry and a pattern must select at
    /// least one layer: a typo in a target would otherwise train nothing at all.
    /// </summary>
    public IReadOnlyList<string> Resolve(nn.Module root)
    {
        var linears = LinearPaths(root);
        var selected = linears.Where(Matches).ToList();
        var available = string.Join(", ", linears.Select(LastSegment).Distinct());
        if (Names is not null)
        {
            var embeddings = EmbeddingPaths(root);
            foreach (var name in Names)
                if (!linears.Concat(embeddings).Any(p => p == name || p.EndsWith("." + name, StringComparison.Ordinal)))
                    throw new QuantTuneException($"target module '{name}' matches no linear layer of the model; the linear layers are: {available}");
        }
        else if (selected.Count == 0)
            throw new QuantTuneException($"target module pattern \"{Pattern}\" matches no linear layer of the model; the linear layers are: {available} (a pattern must match the whole path, e.g. model.layers.0.self_attn.q_proj)");
        var head = selected.FirstOrDefault(p => LastSegment(p) == OutputLayer);
        if (head is not null)
            throw new QuantTuneException($"target modules {this} select '{head}': LoRA on the LM head is not supported; leave it out of target_modules");
        return selected;
    }

    /// <summary>
    /// The paths of the token embeddings the targets select (LoRA on the embedding, PEFT's
    /// <c>lora.Embedding</c>): by name or regular expression; "all-linear" selects none, as in PEFT.
    /// </summary>
    public IReadOnlyList<string> ResolveEmbeddings(nn.Module root) => IsAllLinear ? [] : EmbeddingPaths(root).Where(Matches).ToList();

    static IReadOnlyList<string> EmbeddingPaths(nn.Module root) =>
        root.named_modules().Where(m => m.module is Models.Layers.Embedding).Select(m => m.name).ToList();

    /// <summary>Paths of every <see cref="Linear"/>, <see cref="QuantizedLinear"/> and <see cref="Qat.FakeQuantLinear"/> under <paramref name="root"/>.</summary>
    public static IReadOnlyList<string> LinearPaths(nn.Module root) =>
        root.named_modules().Where(m => m.module is Linear or QuantizedLinear or Qat.FakeQuantLinear).Select(m => m.name).ToList();

    internal static string LastSegment(string path) => path[(path.LastIndexOf('.') + 1)..];
}
