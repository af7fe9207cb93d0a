using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>
/// JSON in and out of templates: messages and tools become template values, and the
/// <c>tojson</c> filter writes what transformers' <c>tojson</c> writes, Python's
/// <c>json.dumps(x, ensure_ascii=False, indent=..., separators=..., sort_keys=...)</c>.
/// </summary>
internal static class TemplateJson
{
    public static TemplateValue FromNode(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return TemplateValue.None;
            case JsonObject obj:
                return new DictValue(obj.Select(p => new KeyValuePair<string, TemplateValue>(p.Key, FromNode(p.Value))).ToList());
            case JsonArray array:
                return new ListValue(array.Select(FromNode).ToList());
            case JsonValue value when value.TryGetValue(out JsonElement e):
                return FromElement(e);
            case JsonValue value when value.TryGetValue(out string? s):
                return new StringValue(s);
            case JsonValue value when value.TryGetValue(out bool b):
                return TemplateValue.Of(b);
            case JsonValue value when value.TryGetValue(out long l):
                return new IntegerValue(l);
            case JsonValue value when value.TryGetValue(out int i):
                return new IntegerValue(i);
            case JsonValue value when value.TryGetValue(out double d):
                return new FloatValue(d);
            default:
                throw new TemplateError("unexpected JSON node");
        }
    }

    public static TemplateValue FromElement(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => new StringValue(e.GetString()!),
        JsonValueKind.True => TemplateValue.True,
        JsonValueKind.False => TemplateValue.False,
        JsonValueKind.Null or JsonValueKind.Undefined => TemplateValue.None,
        JsonValueKind.Number => e.TryGetInt64(out long l) && !e.GetRawText().Contains('.') && !e.GetRawText().Contains('e', StringComparison.OrdinalIgnoreCase)
            ? new IntegerValue(l) : new FloatValue(e.GetDouble()),
        JsonValueKind.Array => new ListValue(e.EnumerateArray().Select(FromElement).ToList()),
        JsonValueKind.Object => DictValue.From(e.EnumerateObject().Select(p => new KeyValuePair<string, TemplateValue>(p.Name, FromElement(p.Value)))),
        _ => TemplateValue.None,
    };

    public sealed record Options(int? Indent = null, string? ItemSeparator = null, string? KeySeparator = null, bool SortKeys = false, bool EnsureAscii = false);

    public static string Dump(TemplateValue value, Options options)
    {
        var text = new StringBuilder();
        string item = options.ItemSeparator ?? (options.Indent is not null ? "," : ", ");
        string key = options.KeySeparator ?? ": ";
        Write(text, value, options, item, key, 0);
        return text.ToString();
    }

    private static void Write(StringBuilder text, TemplateValue value, Options o, string item, string key, int depth)
    {
        switch (value)
        {
            case NoneValue or UndefinedValue:
                text.Append("null");
                break;
            case BooleanValue b:
                text.Append(b.Value ? "true" : "false");
                break;
            case IntegerValue i:
                text.Append(i.Value.ToString(CultureInfo.InvariantCulture));
                break;
            case FloatValue f:
                text.Append(double.IsNaN(f.Value) ? "NaN" : double.IsInfinity(f.Value) ? (f.Value > 0 ? "Infinity" : "-Infinity") : FloatValue.PythonRepr(f.Value));
                break;
            case StringValue s:
                WriteString(text, s.Value, o.EnsureAscii);
                break;
            case ListValue list:
                WriteContainer(text, '[', ']', list.Items.Count, o, item, depth, (i, d) => Write(text, list.Items[i], o, item, key, d));
                break;
            case DictValue dict:
                var entries = o.SortKeys ? dict.Entries.OrderBy(e => e.Key, StringComparer.Ordinal).ToList() : dict.Entries;
                WriteContainer(text, '{', '}', entries.Count, o, item, depth, (i, d) =>
                {
                    WriteString(text, entries[i].Key, o.EnsureAscii);
                    text.Append(key);
                    Write(text, entries[i].Value, o, item, key, d);
                });
                break;
            case NamespaceValue ns:
                Write(text, new DictValue(ns.Attributes.ToList()), o, item, key, depth);
                break;
            default:
                throw new TemplateError($"Object of type {value.TypeName} is not JSON serializable");
        }
    }

    private static void WriteContainer(StringBuilder text, char open, char close, int count, Options o, string item, int depth, Action<int, int> writeItem)
    {
        text.Append(open);
        if (count == 0)
        {
            text.Append(close);
            return;
        }
        string? pad = o.Indent is { } n ? new string(' ', n) : null;
        for (int i = 0; i < count; i++)
        {
            if (i > 0) text.Append(item);
            if (pad is not null) text.Append('\n').Append(string.Concat(Enumerable.Repeat(pad, depth + 1)));
            writeItem(i, depth + 1);
        }
        if (pad is not null) text.Append('\n').Append(string.Concat(Enumerable.Repeat(pad, depth)));
        text.Append(close);
    }

    private static void WriteString(StringBuilder text, string s, bool ensureAscii)
    {
        text.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                case '\b': text.Append("\\b"); break;
                case '\f': text.Append("\\f"); break;
                default:
                    if (c < 0x20 || (ensureAscii && c > 0x7f)) text.Append($"\\u{(int)c:x4}");
                    else text.Append(c);
                    break;
            }
        }
        text.Append('"');
    }
}
