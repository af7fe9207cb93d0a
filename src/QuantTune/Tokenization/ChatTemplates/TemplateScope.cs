namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>
/// Variables visible at one point of a render. Jinja's rules: a for loop and a macro call open a
/// scope (a <c>set</c> inside does not leak out); <c>if</c> does not.
/// </summary>
internal sealed class TemplateScope(TemplateScope? parent)
{
    private readonly Dictionary<string, TemplateValue> _variables = new(StringComparer.Ordinal);

    public TemplateValue Lookup(string name)
    {
        for (TemplateScope? scope = this; scope is not null; scope = scope.Parent)
        {
            if (scope._variables.TryGetValue(name, out TemplateValue? value)) return value;
        }
        return TemplateValue.Undefined;
    }

    public TemplateScope? Parent { get; } = parent;

    public void Set(string name, TemplateValue value) => _variables[name] = value;
}
