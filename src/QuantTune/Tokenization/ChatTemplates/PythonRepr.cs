using System.Text;

namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>Python's <c>repr</c> of template values, which is what <c>str()</c> of a list or dict prints.</summary>
internal static class PythonRepr
{
    public static string Of(TemplateValue value)
    {
        var text = new StringBuilder();
        Append(text, value);
        return text.ToString();
    }

    private static void Append(StringBuilder text, TemplateValue value)
    {
        switch (value)
        {
            case StringValue s:
                AppendString(text, s.Value);
                break;
            case ListValue list:
                text.Append(list.IsTuple ? '(' : '[');
                for (int i = 0; i < list.Items.Count; i++)
                {
                    if (i > 0) text.Append(", ");
                    Append(text, list.Items[i]);
                }
                if (list.IsTuple && list.Items.Count == 1) text.Append(',');
                text.Append(list.IsTuple ? ')' : ']');
                break;
            case DictValue dict:
                text.Append('{');
                for (int i = 0; i < dict.Entries.Count; i++)
                {
                    if (i > 0) text.Append(", ");
                    AppendString(text, dict.Entries[i].Key);
                    text.Append(": ");
                    Append(text, dict.Entries[i].Value);
                }
                text.Append('}');
                break;
            case UndefinedValue:
                text.Append("Undefined");
                break;
            default:
                text.Append(value.Render());
                break;
        }
    }

    private static void AppendString(StringBuilder text, string value)
    {
        char quote = value.Contains('\'') && !value.Contains('"') ? '"' : '\'';
        text.Append(quote);
        foreach (char c in value)
        {
            switch (c)
            {
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                default:
                    if (c == quote) text.Append('\\').Append(c);
                    else if (c < 0x20 || c == 0x7f) text.Append($"\\x{(int)c:x2}");
                    else text.Append(c);
                    break;
            }
        }
        text.Append(quote);
    }
}
