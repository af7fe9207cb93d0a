using System.Text;

namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>
/// The Python methods templates call on strings (<c>.strip()</c>, <c>.split()</c>,
/// <c>.startswith()</c>, <c>.format()</c>, ...), lists (<c>.index()</c>, <c>.count()</c>, <c>.copy()</c>) and dicts
/// (<c>.get()</c>, <c>.items()</c>, <c>.copy()</c>, ...), as bound callables. The methods that change a list or dict
/// (<c>append</c>, <c>pop</c>, <c>update</c>, ...) are refused as jinja2's ImmutableSandboxedEnvironment, which
/// transformers renders templates in, refuses them.
/// </summary>
internal static class TemplateMethods
{
    /// <summary>The methods jinja2's sandbox (<c>modifies_known_mutable</c>) refuses on a list, then on a dict.</summary>
    private static readonly HashSet<string> ListMutators = ["append", "clear", "pop", "reverse", "insert", "sort", "extend", "remove"];

    private static readonly HashSet<string> DictMutators = ["clear", "pop", "popitem", "setdefault", "update"];

    public static TemplateValue? Find(TemplateValue target, string name) => target switch
    {
        StringValue s => StringMethod(s.Value, name),
        DictValue when DictMutators.Contains(name) => Refused(target, name),
        DictValue d => DictMethod(d, name),
        ListValue { IsTuple: false } when ListMutators.Contains(name) => Refused(target, name),
        ListValue l => ListMethod(l, name),
        _ => null,
    };

    /// <summary>What jinja2's sandbox gives for a method that changes its object: undefined, failing when called.</summary>
    private static UndefinedValue Refused(TemplateValue target, string name) => new()
    {
        Refusal = $"access to attribute '{name}' of '{target.TypeName}' object is unsafe. Chat templates render in jinja2's "
            + "ImmutableSandboxedEnvironment (as transformers renders them), which refuses methods that change a list or dict; "
            + "build a new one instead (x + [item], a namespace attribute)",
    };

    private static CallableValue? ListMethod(ListValue l, string name) => name switch
    {
        "index" => Method(name, a => new IntegerValue(Index(l, a))),
        "count" => Method(name, a => new IntegerValue(l.Items.Count(x => TemplateOperators.AreEqual(x, a.Get(0, "value") ?? throw new TemplateError("count() takes exactly one argument"))))),
        "copy" when !l.IsTuple => Method(name, _ => new ListValue(l.Items.ToList())),
        _ => null,
    };

    /// <summary>Python's <c>list.index(value, start, stop)</c>.</summary>
    private static int Index(ListValue l, CallArguments a)
    {
        TemplateValue value = a.Get(0, "value") ?? throw new TemplateError("index() takes at least 1 argument");
        int n = l.Items.Count;
        int Bound(int position, int whenMissing)
        {
            if (a.Get(position, "") is not { } v) return whenMissing;
            long x = TemplateOperators.ToLong(v);
            if (x < 0) x += n;
            return (int)Math.Clamp(x, 0, n);
        }
        int start = Bound(1, 0), stop = Bound(2, n);
        for (int i = start; i < stop; i++)
        {
            if (TemplateOperators.AreEqual(l.Items[i], value)) return i;
        }
        throw new TemplateError($"{PythonRepr.Of(value)} is not in {(l.IsTuple ? "tuple" : "list")}");
    }

    private static CallableValue Method(string name, Func<CallArguments, TemplateValue> body) => new(name, body);

    private static string? Chars(CallArguments a, int position)
    {
        TemplateValue? v = a.Get(position, "chars");
        return v is null or NoneValue ? null : v is StringValue s ? s.Value : throw new TemplateError("strip arg must be None or str");
    }

    private static string Str(CallArguments a, int position, string name, string method) =>
        a.Get(position, name) is StringValue s ? s.Value : throw new TemplateError($"{method}() expects a string for '{name}'");

    public static string Strip(string s, string? chars, bool left, bool right)
    {
        int start = 0, end = s.Length;
        bool Strippable(char c) => chars is null ? char.IsWhiteSpace(c) : chars.Contains(c);
        if (left) while (start < end && Strippable(s[start])) start++;
        if (right) while (end > start && Strippable(s[end - 1])) end--;
        return s[start..end];
    }

    private static CallableValue? StringMethod(string s, string name) => name switch
    {
        "strip" => Method(name, a => new StringValue(Strip(s, Chars(a, 0), true, true))),
        "lstrip" => Method(name, a => new StringValue(Strip(s, Chars(a, 0), true, false))),
        "rstrip" => Method(name, a => new StringValue(Strip(s, Chars(a, 0), false, true))),
        "upper" => Method(name, _ => new StringValue(s.ToUpperInvariant())),
        "lower" => Method(name, _ => new StringValue(s.ToLowerInvariant())),
        "title" => Method(name, _ => new StringValue(Title(s))),
        "capitalize" => Method(name, _ => new StringValue(s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant())),
        "startswith" => Method(name, a => TemplateValue.Of(Affixes(a, name).Any(p => Within(s, a, 1).StartsWith(p, StringComparison.Ordinal)))),
        "endswith" => Method(name, a => TemplateValue.Of(Affixes(a, name).Any(p => Within(s, a, 1).EndsWith(p, StringComparison.Ordinal)))),
        "ljust" => Method(name, a => new StringValue(Justify(s, a, name, left: 0))),
        "rjust" => Method(name, a => new StringValue(Justify(s, a, name, left: -1))),
        "center" => Method(name, a => new StringValue(Justify(s, a, name, left: 1))),
        "zfill" => Method(name, a => new StringValue(ZeroFill(s, a))),
        "partition" => Method(name, a => Partition(s, Str(a, 0, "sep", name), fromRight: false)),
        "rpartition" => Method(name, a => Partition(s, Str(a, 0, "sep", name), fromRight: true)),
        "removeprefix" => Method(name, a => new StringValue(Str(a, 0, "prefix", name) is { } p && s.StartsWith(p, StringComparison.Ordinal) ? s[p.Length..] : s)),
        "removesuffix" => Method(name, a => new StringValue(Str(a, 0, "suffix", name) is { Length: > 0 } x && s.EndsWith(x, StringComparison.Ordinal) ? s[..^x.Length] : s)),
        "index" => Method(name, a => new IntegerValue(s.IndexOf(Str(a, 0, "sub", name), StringComparison.Ordinal) is >= 0 and var at ? at : throw new TemplateError("substring not found"))),
        "rindex" => Method(name, a => new IntegerValue(s.LastIndexOf(Str(a, 0, "sub", name), StringComparison.Ordinal) is >= 0 and var at ? at : throw new TemplateError("substring not found"))),
        "isalnum" => Method(name, _ => TemplateValue.Of(s.Length > 0 && s.All(char.IsLetterOrDigit))),
        "isnumeric" or "isdecimal" => Method(name, _ => TemplateValue.Of(s.Length > 0 && s.All(char.IsDigit))),
        "istitle" => Method(name, _ => TemplateValue.Of(s.Any(char.IsUpper) && s == Title(s))),
        "swapcase" => Method(name, _ => new StringValue(string.Concat(s.Select(c => char.IsUpper(c) ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c))))),
        "casefold" => Method(name, _ => new StringValue(s.ToLowerInvariant())),
        "split" => Method(name, a => Split(s, a, fromRight: false)),
        "rsplit" => Method(name, a => Split(s, a, fromRight: true)),
        "splitlines" => Method(name, _ => new ListValue(s.Split('\n').Select(l => (TemplateValue)new StringValue(l.TrimEnd('\r'))).ToList()[..^(s.EndsWith('\n') ? 1 : 0)])),
        "replace" => Method(name, a => new StringValue(Replace(s, Str(a, 0, "old", name), Str(a, 1, "new", name), a.Get(2, "count") is { } c and not NoneValue ? (int)TemplateOperators.ToLong(c) : -1))),
        "find" => Method(name, a => new IntegerValue(s.IndexOf(Str(a, 0, "sub", name), StringComparison.Ordinal))),
        "rfind" => Method(name, a => new IntegerValue(s.LastIndexOf(Str(a, 0, "sub", name), StringComparison.Ordinal))),
        "count" => Method(name, a => new IntegerValue(Count(s, Str(a, 0, "sub", name)))),
        "join" => Method(name, a => TemplateFilters.Join(s, TemplateFilters.Iterate(a.Get(0, "iterable") ?? TemplateValue.Undefined))),
        "isdigit" => Method(name, _ => TemplateValue.Of(s.Length > 0 && s.All(char.IsDigit))),
        "isspace" => Method(name, _ => TemplateValue.Of(s.Length > 0 && s.All(char.IsWhiteSpace))),
        "isalpha" => Method(name, _ => TemplateValue.Of(s.Length > 0 && s.All(char.IsLetter))),
        "islower" => Method(name, _ => TemplateValue.Of(s.Any(char.IsLetter) && s == s.ToLowerInvariant())),
        "isupper" => Method(name, _ => TemplateValue.Of(s.Any(char.IsLetter) && s == s.ToUpperInvariant())),
        "format" => Method(name, a => new StringValue(PythonFormat.Format(s, a))),
        _ => null,
    };

    /// <summary><c>s[start:end]</c> from the arguments at <paramref name="position"/> and after (startswith's and endswith's).</summary>
    private static string Within(string s, CallArguments a, int position)
    {
        int Bound(TemplateValue? v, int whenMissing)
        {
            if (v is null or NoneValue) return whenMissing;
            long x = TemplateOperators.ToLong(v);
            if (x < 0) x += s.Length;
            return (int)Math.Clamp(x, 0, s.Length);
        }
        int start = Bound(a.Get(position, "start"), 0), end = Bound(a.Get(position + 1, "end"), s.Length);
        return end > start ? s[start..end] : "";
    }

    /// <summary>Python's <c>ljust</c> (<paramref name="left"/> 0), <c>rjust</c> (-1) and <c>center</c> (1), the width refused past the length budget.</summary>
    public static string Justify(string s, CallArguments a, string method, int left)
    {
        long width = TemplateOperators.ToLong(a.Get(0, "width") ?? throw new TemplateError($"{method}() takes a width"));
        string fill = a.Get(1, "fillchar") is { } f ? f is StringValue { Value.Length: 1 } one ? one.Value : throw new TemplateError("The fill character must be exactly one character long") : " ";
        TemplateBudget.CheckLength(width, $"a string made by {method}");
        int pad = (int)width - s.Length;
        if (pad <= 0) return s;
        int before = left switch
        {
            0 => 0,
            -1 => pad,
            _ => (pad / 2) + (pad & (int)width & 1),
        };
        return string.Concat(Enumerable.Repeat(fill, before)) + s + string.Concat(Enumerable.Repeat(fill, pad - before));
    }

    private static string ZeroFill(string s, CallArguments a)
    {
        long width = TemplateOperators.ToLong(a.Get(0, "width") ?? throw new TemplateError("zfill() takes a width"));
        TemplateBudget.CheckLength(width, "a string made by zfill");
        if (width <= s.Length) return s;
        int sign = s.Length > 0 && s[0] is '+' or '-' ? 1 : 0;
        return s[..sign] + new string('0', (int)width - s.Length) + s[sign..];
    }

    private static ListValue Partition(string s, string sep, bool fromRight)
    {
        if (sep.Length == 0) throw new TemplateError("empty separator");
        int at = fromRight ? s.LastIndexOf(sep, StringComparison.Ordinal) : s.IndexOf(sep, StringComparison.Ordinal);
        string[] parts = at < 0 ? (fromRight ? ["", "", s] : [s, "", ""]) : [s[..at], sep, s[(at + sep.Length)..]];
        return new ListValue(parts.Select(p => (TemplateValue)new StringValue(p)).ToList(), isTuple: true);
    }

    private static IEnumerable<string> Affixes(CallArguments a, string method) => a.Get(0, "prefix") switch
    {
        StringValue p => [p.Value],
        ListValue l => l.Items.Select(x => x is StringValue s ? s.Value : throw new TemplateError($"{method}() tuple items must be strings")),
        _ => throw new TemplateError($"{method}() expects a string or a tuple of strings"),
    };

    public static string Title(string s)
    {
        var text = new StringBuilder(s.Length);
        bool previousCased = false;
        foreach (char c in s)
        {
            text.Append(previousCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            previousCased = char.IsLetter(c);
        }
        return text.ToString();
    }

    public static string Replace(string s, string old, string replacement, int count)
    {
        long occurrences = old.Length == 0 ? s.Length + 1L : Count(s, old);
        if (count >= 0) occurrences = Math.Min(occurrences, count);
        TemplateBudget.CheckLength(s.Length + (occurrences * (replacement.Length - old.Length)), "a string made by replace");
        if (count < 0) return old.Length == 0 ? string.Concat(s.Select(c => replacement + c)) + replacement : s.Replace(old, replacement, StringComparison.Ordinal);
        var text = new StringBuilder();
        int at = 0, done = 0;
        while (done < count)
        {
            int next = s.IndexOf(old, at, StringComparison.Ordinal);
            if (next < 0 || old.Length == 0) break;
            text.Append(s, at, next - at).Append(replacement);
            at = next + old.Length;
            done++;
        }
        return text.Append(s, at, s.Length - at).ToString();
    }

    private static int Count(string s, string sub)
    {
        if (sub.Length == 0) return s.Length + 1;
        int n = 0;
        for (int at = s.IndexOf(sub, StringComparison.Ordinal); at >= 0; at = s.IndexOf(sub, at + sub.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    private static ListValue Split(string s, CallArguments a, bool fromRight)
    {
        TemplateValue? sepArg = a.Get(0, "sep");
        long max = a.Get(1, "maxsplit") is { } m ? TemplateOperators.ToLong(m) : -1;
        List<string> parts;
        if (sepArg is null or NoneValue)
        {
            var words = s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).ToList();
            if (max < 0 || words.Count <= max + 1) parts = words;
            else if (!fromRight)
            {
                parts = [];
                int at = 0;
                for (int i = 0; i < max; i++)
                {
                    while (char.IsWhiteSpace(s[at])) at++;
                    int end = at;
                    while (!char.IsWhiteSpace(s[end])) end++;
                    parts.Add(s[at..end]);
                    at = end;
                }
                while (char.IsWhiteSpace(s[at])) at++;
                parts.Add(s[at..]);
            }
            else
            {
                parts = [string.Join(" ", words.Take(words.Count - (int)max)), .. words.Skip(words.Count - (int)max)];
            }
        }
        else
        {
            string sep = sepArg is StringValue sv ? sv.Value : throw new TemplateError("split() separator must be a string or None");
            if (sep.Length == 0) throw new TemplateError("empty separator");
            parts = [.. s.Split(sep)];
            if (max >= 0 && parts.Count > max + 1)
            {
                parts = fromRight
                    ? [string.Join(sep, parts.Take(parts.Count - (int)max)), .. parts.Skip(parts.Count - (int)max)]
                    : [.. parts.Take((int)max), string.Join(sep, parts.Skip((int)max))];
            }
        }
        return new ListValue(parts.Select(p => (TemplateValue)new StringValue(p)).ToList());
    }

    private static CallableValue? DictMethod(DictValue d, string name) => name switch
    {
        "get" => Method(name, a =>
        {
            TemplateValue key = a.Get(0, "key") ?? throw new TemplateError("get() takes a key");
            return key is StringValue k && d.TryGet(k.Value, out TemplateValue v) ? v : a.Get(1, "default") ?? TemplateValue.None;
        }),
        "items" => Method(name, _ => TemplateFilters.Items(d)),
        "keys" => Method(name, _ => new ListValue(d.Entries.Select(e => (TemplateValue)new StringValue(e.Key)).ToList())),
        "values" => Method(name, _ => new ListValue(d.Entries.Select(e => e.Value).ToList())),
        "copy" => Method(name, _ => new DictValue(d.Entries.ToList())),
        _ => null,
    };

}
