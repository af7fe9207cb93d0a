using System.Text.Json.Nodes;

namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>
/// A Hugging Face chat template (Jinja), parsed once and rendered for conversations the way
/// transformers' <c>apply_chat_template</c> renders it (trim_blocks and lstrip_blocks on).
/// Syntax the renderer does not support fails at parse time with the template's name and line.
/// </summary>
public sealed class ChatTemplate
{
    private readonly IReadOnlyList<TemplateNode> _body;

    private ChatTemplate(string name, string source, IReadOnlyList<TemplateNode> body, TemplateLimits limits)
    {
        Name = name;
        Source = source;
        _body = body;
        Limits = limits;
    }

    /// <summary>Where the template came from (a file, or a file and a template name), for messages.</summary>
    public string Name { get; }

    public string Source { get; }

    /// <summary>The budgets it is parsed and rendered within.</summary>
    public TemplateLimits Limits { get; }

    /// <exception cref="ChatTemplateException">The template cannot be parsed, or nests deeper than <paramref name="limits"/> allow.</exception>
    public static ChatTemplate Parse(string name, string source, TemplateLimits? limits = null)
    {
        limits ??= TemplateLimits.Default;
        return new(name, source, TemplateParser.Parse(name, source, limits.MaxDepth), limits);
    }

    public string Render(IEnumerable<ChatMessage> messages, ChatTemplateInputs inputs) => Render(ChatMessage.ToJson(messages), inputs);

    public string Render(JsonArray messages, ChatTemplateInputs inputs)
    {
        var globals = new TemplateScope(null);
        TemplateGlobals.AddTo(globals, inputs.Clock);
        var scope = new TemplateScope(globals);
        scope.Set("messages", TemplateJson.FromNode(messages));
        scope.Set("add_generation_prompt", TemplateValue.Of(inputs.AddGenerationPrompt));
        if (inputs.BosToken is { } bos) scope.Set("bos_token", new StringValue(bos));
        if (inputs.EosToken is { } eos) scope.Set("eos_token", new StringValue(eos));
        if (inputs.Tools is { } tools) scope.Set("tools", TemplateJson.FromNode(tools));
        foreach (var (key, value) in inputs.Variables) scope.Set(key, TemplateJson.FromNode(value));
        using var budget = TemplateBudget.Enter(new TemplateBudget(Limits));
        return new TemplateEvaluator(Name).Render(_body, scope);
    }
}
