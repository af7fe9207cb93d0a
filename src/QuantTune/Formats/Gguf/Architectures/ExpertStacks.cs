using System.Text.RegularExpressions;

namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>
/// How convert_hf_to_gguf.py lays out a mixture of experts, for any architecture: each layer's router
/// <c>model.layers.N.{block}.gate</c> becomes <c>blk.N.ffn_gate_inp</c>, and the experts' projections
/// <c>model.layers.N.{block}.experts.E.{projection}</c> are stacked into <c>blk.N.ffn_{gate,up,down}_exps</c>
/// [experts, rows, columns] (gguf-py's FFN_GATE_INP, FFN_GATE_EXP, FFN_UP_EXP, FFN_DOWN_EXP). Architectures differ only in
/// the block's name and the projections' names.
/// </summary>
public sealed class ExpertStacks
{
    static readonly Regex GgufRouter = new(@"^blk\.(\d+)\.ffn_gate_inp\.weight$", RegexOptions.CultureInvariant);
    static readonly Regex GgufExperts = new(@"^blk\.(\d+)\.ffn_(gate|up|down)_exps\.weight$", RegexOptions.CultureInvariant);

    readonly string _block;
    readonly (string Hf, string Gguf)[] _projections;
    readonly Regex _hfRouter, _hfExpert;

    /// <param name="block">The module under each layer holding the router and the experts (Mixtral's <c>block_sparse_moe</c>, Qwen's <c>mlp</c>).</param>
    /// <param name="projections">Each expert projection's HF name and its GGUF stack (<c>gate</c>, <c>up</c> or <c>down</c>).</param>
    public ExpertStacks(string block, params (string Hf, string Gguf)[] projections)
    {
        _block = block;
        _projections = projections;
        string names = string.Join("|", projections.Select(p => Regex.Escape(p.Hf)));
        _hfRouter = new Regex($@"^model\.layers\.(\d+)\.{Regex.Escape(block)}\.gate\.weight$", RegexOptions.CultureInvariant);
        _hfExpert = new Regex($@"^model\.layers\.(\d+)\.{Regex.Escape(block)}\.experts\.(\d+)\.({names})\.weight$", RegexOptions.CultureInvariant);
    }

    /// <summary>The router of layer N as <c>blk.N.ffn_gate_inp</c>, or null for another parameter.</summary>
    public string? RouterName(string hf) =>
        _hfRouter.Match(hf) is { Success: true } m ? $"blk.{m.Groups[1].Value}.ffn_gate_inp.weight" : null;

    /// <summary>The router's HF name of <c>blk.N.ffn_gate_inp</c>, or null for another tensor.</summary>
    public string? RouterHfName(string gguf) =>
        GgufRouter.Match(gguf) is { Success: true } m ? $"model.layers.{m.Groups[1].Value}.{_block}.gate.weight" : null;

    /// <summary>Expert e's projection of layer N: slice e of <c>blk.N.ffn_{gate,up,down}_exps</c> of <paramref name="experts"/>.</summary>
    public (string Gguf, int Index, int Count)? MergedInto(string hf, int experts) =>
        _hfExpert.Match(hf) is { Success: true } m
            ? ($"blk.{m.Groups[1].Value}.ffn_{_projections.First(p => p.Hf == m.Groups[3].Value).Gguf}_exps.weight", int.Parse(m.Groups[2].Value), experts)
            : null;

    /// <summary>The HF names of the <paramref name="experts"/> slices of <c>blk.N.ffn_{gate,up,down}_exps</c>, in order.</summary>
    public IReadOnlyList<string>? HfSlices(string gguf, int experts)
    {
        if (GgufExperts.Match(gguf) is not { Success: true } m) return null;
        string projection = _projections.First(p => p.Gguf == m.Groups[2].Value).Hf;
        return Enumerable.Range(0, experts).Select(e => $"model.layers.{m.Groups[1].Value}.{_block}.experts.{e}.{projection}.weight").ToArray();
    }
}
