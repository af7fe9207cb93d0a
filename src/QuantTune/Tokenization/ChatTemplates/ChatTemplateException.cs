using QuantTune.Diagnostics;

namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>A chat template that cannot be parsed or rendered: names the template and its line.</summary>
public sealed class ChatTemplateException(string template, int line, string problem)
    : QuantTuneException($"chat template {template}, line {line}: {problem}")
{
    public string Template { get; } = template;
    public int Line { get; } = line;
}
