namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>
/// The budgets a chat template is parsed and rendered within. A template comes with a downloaded model, so it is
/// untrusted: transformers renders it in jinja2's sandbox, and here a template that nests, loops or grows past these
/// limits ends in a <see cref="ChatTemplateException"/> naming the template and line, never a crash, a hang or an
/// exhausted process. The defaults are far above what real templates use (a few levels, a few hundred iterations,
/// a few kilobytes per message).
/// </summary>
public sealed record TemplateLimits
{
    /// <summary>Nesting of blocks and expressions in the source, and of macro calls while rendering (a macro that calls itself stops here).</summary>
    public int MaxDepth { get; init; } = 256;

    /// <summary>Loop iterations of one render, all loops together (jinja2's sandbox also caps one <c>range</c> at 100,000 items).</summary>
    public long MaxLoopIterations { get; init; } = 1_000_000;

    /// <summary>Characters of any string and of the output, and items of any list, that a render builds.</summary>
    public int MaxLength { get; init; } = 1 << 24;

    public static TemplateLimits Default { get; } = new();
}
