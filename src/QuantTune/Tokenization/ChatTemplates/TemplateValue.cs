using System.Globalization;

namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>
/// A value inside a chat-template render, with Python's (Jinja's) meaning: strings, ints, floats,
/// booleans, None, lists and tuples, dicts keeping insertion order, namespaces, callables, and
/// Undefined for a name or key that does not exist.
/// </summary>
internal abstract class TemplateValue
{
    public abstract string TypeName { get; }

    /// <summary>Python truthiness.</summary>
    public abstract bool IsTruthy { get; }

    /// <summary><c>str(value)</c> as Jinja prints it.</summary>
    public abstract string Render();

    public static readonly UndefinedValue Undefined = new();
    public static readonly NoneValue None = new();
    public static readonly BooleanValue True = new(true);
    public static readonly BooleanValue False = new(false);

    public static BooleanValue Of(bool value) => value ? True : False;
}

internal sealed class UndefinedValue : TemplateValue
{
    /// <summary>
    /// Set on the value jinja2's sandbox gives for a method it refuses (<c>list.append</c>): it prints as nothing and is
    /// not defined, as any undefined value, but calling it fails with this reason.
    /// </summary>
    public string? Refusal { get; init; }

    public override string TypeName => "undefined";
    public override bool IsTruthy => false;
    public override string Render() => "";
}

internal sealed class NoneValue : TemplateValue
{
    public override string TypeName => "none";
    public override bool IsTruthy => false;
    public override string Render() => "None";
}

internal sealed class BooleanValue(bool value) : TemplateValue
{
    public bool Value { get; } = value;
    public override string TypeName => "bool";
    public override bool IsTruthy => Value;
    public override string Render() => Value ? "True" : "False";
}

internal sealed class IntegerValue(long value) : TemplateValue
{
    public long Value { get; } = value;
    public override string TypeName => "int";
    public override bool IsTruthy => Value != 0;
    public override string Render() => Value.ToString(CultureInfo.InvariantCulture);
}

internal sealed class FloatValue(double value) : TemplateValue
{
    public double Value { get; } = value;
    public override string TypeName => "float";
    public override bool IsTruthy => Value != 0;
    public override string Render() => PythonRepr(Value);

    /// <summary>Python's <c>repr(float)</c>: shortest round trip, ".0" on integral values.</summary>
    public static string PythonRepr(double value)
    {
        if (double.IsNaN(value)) return "nan";
        if (double.IsPositiveInfinity(value)) return "inf";
        if (double.IsNegativeInfinity(value)) return "-inf";
        if (value == Math.Floor(value) && Math.Abs(value) < 1e16)
        {
            return value == 0 && double.IsNegative(value) ? "-0.0" : value.ToString("0.0", CultureInfo.InvariantCulture);
        }
        string r = value.ToString("R", CultureInfo.InvariantCulture);
        int e = r.IndexOf('E');
        if (e < 0) return r;
        string mantissa = r[..e];
        int exponent = int.Parse(r[(e + 1)..], CultureInfo.InvariantCulture);
        return $"{mantissa}e{(exponent < 0 ? "-" : "+")}{Math.Abs(exponent):00}";
    }
}

internal sealed class StringValue(string value) : TemplateValue
{
    public string Value { get; } = TemplateBudget.Within(value);
    public override string TypeName => "str";
    public override bool IsTruthy => Value.Length > 0;
    public override string Render() => Value;
}

/// <summary>A list, or a tuple when <see cref="IsTuple"/>; a named tuple (groupby's) also has <see cref="Fields"/>.</summary>
internal sealed class ListValue(IReadOnlyList<TemplateValue> items, bool isTuple = false, IReadOnlyList<string>? fields = null) : TemplateValue
{
    public IReadOnlyList<TemplateValue> Items { get; } = TemplateBudget.Within(items);
    public bool IsTuple { get; } = isTuple;

    /// <summary>The names of a named tuple's items (<c>grouper</c>, <c>list</c>), readable as attributes; null for others.</summary>
    public IReadOnlyList<string>? Fields { get; } = fields;
    public override string TypeName => IsTuple ? "tuple" : "list";
    public override bool IsTruthy => Items.Count > 0;
    public override string Render() => PythonRepr.Of(this);
}

/// <summary>A dict (insertion-ordered, string keys).</summary>
internal sealed class DictValue(IReadOnlyList<KeyValuePair<string, TemplateValue>> entries) : TemplateValue
{
    private readonly Dictionary<string, int> _index = Index(entries);

    public IReadOnlyList<KeyValuePair<string, TemplateValue>> Entries { get; } = entries;
    public override string TypeName => "dict";
    public override bool IsTruthy => Entries.Count > 0;
    public override string Render() => PythonRepr.Of(this);

    public bool TryGet(string key, out TemplateValue value)
    {
        if (_index.TryGetValue(key, out int i))
        {
            value = Entries[i].Value;
            return true;
        }
        value = Undefined;
        return false;
    }

    public static DictValue From(IEnumerable<KeyValuePair<string, TemplateValue>> pairs)
    {
        var list = new List<KeyValuePair<string, TemplateValue>>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            if (seen.TryGetValue(pair.Key, out int at)) list[at] = pair;
            else
            {
                seen[pair.Key] = list.Count;
                list.Add(pair);
            }
        }
        return new DictValue(list);
    }

    private static Dictionary<string, int> Index(IReadOnlyList<KeyValuePair<string, TemplateValue>> entries)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < entries.Count; i++) index[entries[i].Key] = i;
        return index;
    }
}

/// <summary>Jinja's <c>namespace(...)</c>: the one mutable object, assigned with <c>set ns.x = ...</c>.</summary>
internal sealed class NamespaceValue : TemplateValue
{
    public Dictionary<string, TemplateValue> Attributes { get; } = new(StringComparer.Ordinal);
    public override string TypeName => "namespace";
    public override bool IsTruthy => true;
    public override string Render() => "<Namespace " + string.Join(", ", Attributes.Select(a => $"{a.Key}={PythonRepr.Of(a.Value)}")) + ">";
}

/// <summary>A callable: a global (range, namespace, raise_exception), a bound method, or a macro.</summary>
internal sealed class CallableValue(string name, Func<CallArguments, TemplateValue> invoke) : TemplateValue
{
    public string Name { get; } = name;
    public Func<CallArguments, TemplateValue> Invoke { get; } = invoke;
    public override string TypeName => "function";
    public override bool IsTruthy => true;
    public override string Render() => $"<function {Name}>";
}

/// <summary>Positional and keyword arguments of one call.</summary>
internal sealed record CallArguments(IReadOnlyList<TemplateValue> Positional, IReadOnlyList<KeyValuePair<string, TemplateValue>> Keywords)
{
    public static readonly CallArguments Empty = new([], []);

    /// <summary>The argument at <paramref name="position"/> or named <paramref name="name"/>, else null.</summary>
    public TemplateValue? Get(int position, string name)
    {
        if (position >= 0 && position < Positional.Count) return Positional[position];
        foreach (var pair in Keywords)
        {
            if (pair.Key == name) return pair.Value;
        }
        return null;
    }
}
