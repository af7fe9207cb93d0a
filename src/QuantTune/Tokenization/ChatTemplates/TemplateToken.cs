namespace QuantTune.Tokenization.ChatTemplates;

internal enum TemplateTokenKind
{
    Text,
    OpenStatement,
    CloseStatement,
    OpenExpression,
    CloseExpression,
    Name,
    String,
    Integer,
    Float,
    Operator,
    End,
}

/// <summary>One token of a chat template, with the line of the template it starts on.</summary>
internal sealed record TemplateToken(TemplateTokenKind Kind, string Value, int Line)
{
    public bool Is(TemplateTokenKind kind, string value) => Kind == kind && Value == value;

    public override string ToString() => Kind switch
    {
        TemplateTokenKind.End => "the end of the template",
        TemplateTokenKind.Text => "text",
        TemplateTokenKind.String => $"the string '{Value}'",
        _ => $"'{Value}'",
    };
}
