using System.Globalization;

namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>
/// Jinja's built-in filters that chat templates use (<c>trim</c>, <c>length</c>, <c>default</c>,
/// <c>join</c>, <c>items</c>, <c>selectattr</c>, <c>map</c>, ...) and transformers' <c>tojson</c>.
/// </summary>
internal static class TemplateFilters
{
    public static TemplateValue Apply(string name, TemplateValue v, CallArguments a)
    {
        switch (name)
        {
            case "safe" or "e" or "escape" or "forceescape":
                return v;
            case "trim":
                return new StringValue(TemplateMethods.Strip(v.Render(), a.Get(0, "chars") is StringValue c ? c.Value : null, true, true));
            case "upper":
                return new StringValue(v.Render().ToUpperInvariant());
            case "lower":
                return new StringValue(v.Render().ToLowerInvariant());
            case "title":
                return new StringValue(TemplateMethods.Title(v.Render()));
            case "capitalize":
                string cap = v.Render();
                return new StringValue(cap.Length == 0 ? cap : char.ToUpperInvariant(cap[0]) + cap[1..].ToLowerInvariant());
            case "string":
                return v is StringValue ? v : new StringValue(v.Render());
            case "length" or "count":
                return new IntegerValue(Length(v));
            case "default" or "d":
                TemplateValue fallback = a.Get(0, "default_value") ?? new StringValue("");
                bool boolean = a.Get(1, "boolean")?.IsTruthy ?? false;
                return v is UndefinedValue || (boolean && !v.IsTruthy) ? fallback : v;
            case "replace":
                if (a.Get(0, "old") is not StringValue old || a.Get(1, "new") is not StringValue replacement)
                    throw new TemplateError("replace expects two strings");
                int count = a.Get(2, "count") is { } n and not NoneValue ? (int)TemplateOperators.ToLong(n) : -1;
                return new StringValue(TemplateMethods.Replace(v.Render(), old.Value, replacement.Value, count));
            case "join":
                string separator = a.Get(0, "d") is StringValue sep ? sep.Value : "";
                IEnumerable<TemplateValue> joined = Iterate(v);
                if (a.Get(1, "attribute") is { } attr) joined = joined.Select(x => Attribute(x, attr));
                return Join(separator, joined);
            case "items":
                return v is DictValue d ? Items(d) : v is UndefinedValue ? new ListValue([]) : throw new TemplateError($"items expects a mapping, got {v.TypeName}");
            case "dictsort":
                if (v is not DictValue ds) throw new TemplateError($"dictsort expects a mapping, got {v.TypeName}");
                bool byValue = a.Get(2, "by") is StringValue { Value: "value" };
                var pairs = Items(ds).Items.ToList();
                pairs.Sort((x, y) => SortCompare(((ListValue)x).Items[byValue ? 1 : 0], ((ListValue)y).Items[byValue ? 1 : 0], a.Get(0, "case_sensitive")?.IsTruthy ?? false));
                if (a.Get(3, "reverse")?.IsTruthy ?? false) pairs.Reverse();
                return new ListValue(pairs);
            case "list":
                return new ListValue(Iterate(v).ToList());
            case "first":
                return Iterate(v).FirstOrDefault() ?? TemplateValue.Undefined;
            case "last":
                var all = Iterate(v).ToList();
                return all.Count > 0 ? all[^1] : TemplateValue.Undefined;
            case "reverse":
                return v is StringValue rs ? new StringValue(new string(rs.Value.Reverse().ToArray())) : new ListValue(Iterate(v).Reverse().ToList());
            case "sort":
                return Sort(v, a);
            case "unique":
                var unique = new List<TemplateValue>();
                foreach (TemplateValue x in Iterate(v))
                {
                    if (!unique.Any(u => TemplateOperators.AreEqual(u, x))) unique.Add(x);
                }
                return new ListValue(unique);
            case "min" or "max":
                var values = Iterate(v).ToList();
                if (values.Count == 0) return TemplateValue.Undefined;
                return values.Aggregate((x, y) => (TemplateOperators.Compare(x, y) <= 0) == (name == "min") ? x : y);
            case "sum":
                TemplateValue total = a.Get(1, "start") ?? new IntegerValue(0);
                foreach (TemplateValue x in Iterate(v))
                {
                    total = TemplateOperators.Binary("+", total, a.Get(0, "attribute") is { } at ? Attribute(x, at) : x);
                }
                return total;
            case "abs":
                return v is IntegerValue iv ? new IntegerValue(Math.Abs(iv.Value)) : new FloatValue(Math.Abs(TemplateOperators.ToDouble(v)));
            case "int":
                return ToInt(v, a.Get(0, "default") ?? new IntegerValue(0));
            case "float":
                return ToFloat(v, a.Get(0, "default") ?? new FloatValue(0));
            case "round":
                int precision = a.Get(0, "precision") is { } p ? (int)TemplateOperators.ToLong(p) : 0;
                string method = a.Get(1, "method") is StringValue m ? m.Value : "common";
                double number = TemplateOperators.ToDouble(v), scale = Math.Pow(10, precision);
                double rounded = method switch
                {
                    "floor" => Math.Floor(number * scale) / scale,
                    "ceil" => Math.Ceiling(number * scale) / scale,
                    _ => Math.Round(number, precision, MidpointRounding.AwayFromZero),
                };
                return new FloatValue(rounded);
            case "indent":
                return Indent(v.Render(), a);
            case "wordcount":
                return new IntegerValue(v.Render().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length);
            case "tojson":
                return new StringValue(TemplateJson.Dump(v, JsonOptions(a)));
            case "attr":
                return a.Get(0, "name") is { } attrName ? Attribute(v, attrName) : throw new TemplateError("attr takes a name");
            case "map":
                return Map(v, a);
            case "select" or "reject":
                return Select(v, a, name == "select", byAttribute: false);
            case "selectattr" or "rejectattr":
                return Select(v, a, name == "selectattr", byAttribute: true);
            case "batch":
                return Batch(v, TemplateOperators.ToLong(a.Get(0, "linecount") ?? throw new TemplateError("batch takes a size")), a.Get(1, "fill_with"));
            case "format":
                if (a.Positional.Count > 0 && a.Keywords.Count > 0) throw new TemplateError("format can't handle positional and keyword arguments at the same time");
                return new StringValue(PythonFormat.Percent(v.Render(), a.Keywords.Count > 0 ? DictValue.From(a.Keywords) : new ListValue(a.Positional, isTuple: true)));
            case "center":
                return new StringValue(TemplateMethods.Justify(v.Render(), new CallArguments([a.Get(0, "width") ?? new IntegerValue(80)], []), "center", left: 1));
            case "truncate":
                return Truncate(v.Render(), a);
            case "groupby":
                return GroupBy(v, a);
            default:
                throw new TemplateError($"the filter '{name}' is not supported");
        }
    }

    /// <summary>jinja2's <c>do_batch</c> line for line, so a size below one gives what jinja2 gives (an empty first batch for 0, one batch for less).</summary>
    private static ListValue Batch(TemplateValue v, long size, TemplateValue? fillWith)
    {
        var batches = new List<TemplateValue>();
        var current = new List<TemplateValue>();
        foreach (TemplateValue item in Iterate(v))
        {
            if (current.Count == size)
            {
                batches.Add(new ListValue(current));
                current = [];
            }
            current.Add(item);
        }
        if (current.Count > 0)
        {
            if (fillWith is not null and not NoneValue && current.Count < size)
            {
                TemplateBudget.CheckLength(size, "a batch filled up with fill_with");
                current.AddRange(Enumerable.Repeat(fillWith, (int)(size - current.Count)));
            }
            batches.Add(new ListValue(current));
        }
        return new ListValue(batches);
    }

    /// <summary>jinja2's <c>do_truncate</c>: at most <c>length</c> characters (plus a leeway of 5), cut at a word unless <c>killwords</c>.</summary>
    private static StringValue Truncate(string s, CallArguments a)
    {
        long length = a.Get(0, "length") is { } l ? TemplateOperators.ToLong(l) : 255;
        bool killWords = a.Get(1, "killwords")?.IsTruthy ?? false;
        string end = a.Get(2, "end") is { } e ? e.Render() : "...";
        long leeway = a.Get(3, "leeway") is { } w and not NoneValue ? TemplateOperators.ToLong(w) : 5;
        if (length < end.Length) throw new TemplateError($"truncate: expected length >= {end.Length}, got {length}");
        if (leeway < 0) throw new TemplateError($"truncate: expected leeway >= 0, got {leeway}");
        if (s.Length <= length + leeway) return new StringValue(s);
        string head = s[..(int)(length - end.Length)];
        if (!killWords)
        {
            int space = head.LastIndexOf(' ');
            if (space >= 0) head = head[..space];
        }
        return new StringValue(head + end);
    }

    /// <summary>
    /// jinja2's <c>do_groupby</c>: the items sorted by an attribute and grouped, as (grouper, list) named tuples; without
    /// <c>case_sensitive</c> strings group ignoring case and the grouper is the first item's value.
    /// </summary>
    private static ListValue GroupBy(TemplateValue v, CallArguments a)
    {
        TemplateValue attribute = a.Get(0, "attribute") ?? throw new TemplateError("groupby takes an attribute");
        TemplateValue? fallback = a.Get(1, "default") is { } d and not NoneValue ? d : null;
        bool caseSensitive = a.Get(2, "case_sensitive")?.IsTruthy ?? false;
        TemplateValue Output(TemplateValue item) => Attribute(item, attribute) is UndefinedValue && fallback is not null ? fallback : Attribute(item, attribute);
        TemplateValue Key(TemplateValue item) => Output(item) is StringValue s && !caseSensitive ? new StringValue(s.Value.ToLowerInvariant()) : Output(item);
        var items = Iterate(v).Select(item => (Item: item, Key: Key(item))).ToList();
        if (items.Count > 1 && items.FirstOrDefault(p => p.Key is UndefinedValue) is { Item: not null } missing)
            throw new TemplateError($"groupby: an item has no attribute {PythonRepr.Of(new StringValue(attribute.Render()))}");
        var sorted = items.Select((p, i) => (p.Item, p.Key, i)).OrderBy(p => p, Comparer<(TemplateValue Item, TemplateValue Key, int i)>.Create((p, q) =>
        {
            int c = TemplateOperators.Compare(p.Key, q.Key);
            return c != 0 ? c : p.i.CompareTo(q.i);
        })).ToList();
        var groups = new List<TemplateValue>();
        for (int start = 0; start < sorted.Count;)
        {
            int stop = start + 1;
            while (stop < sorted.Count && TemplateOperators.AreEqual(sorted[stop].Key, sorted[start].Key)) stop++;
            var members = sorted.Skip(start).Take(stop - start).Select(p => p.Item).ToList();
            TemplateValue grouper = caseSensitive ? sorted[start].Key : Output(members[0]);
            groups.Add(new ListValue([grouper, new ListValue(members)], isTuple: true, fields: ["grouper", "list"]));
            start = stop;
        }
        return new ListValue(groups);
    }

    public static ListValue Items(DictValue d) =>
        new(d.Entries.Select(e => (TemplateValue)new ListValue([new StringValue(e.Key), e.Value], isTuple: true)).ToList());

    public static IEnumerable<TemplateValue> Iterate(TemplateValue v) => v switch
    {
        ListValue l => l.Items,
        DictValue d => d.Entries.Select(e => (TemplateValue)new StringValue(e.Key)),
        StringValue s => s.Value.Select(c => (TemplateValue)new StringValue(c.ToString())),
        UndefinedValue => [],
        _ => throw new TemplateError($"'{v.TypeName}' object is not iterable"),
    };

    private static long Length(TemplateValue v) => v switch
    {
        StringValue s => s.Value.Length,
        ListValue l => l.Items.Count,
        DictValue d => d.Entries.Count,
        NamespaceValue ns => ns.Attributes.Count,
        UndefinedValue => 0,
        _ => throw new TemplateError($"object of type '{v.TypeName}' has no len()"),
    };

    /// <summary>An attribute path like <c>"function.name"</c> or <c>"0"</c> of one item.</summary>
    public static TemplateValue Attribute(TemplateValue item, TemplateValue path)
    {
        TemplateValue current = item;
        foreach (string part in path.Render().Split('.'))
        {
            current = current switch
            {
                ListValue { Fields: { } fields } named when fields.Contains(part) => named.Items[fields.ToList().IndexOf(part)],
                LoopValue loop => loop.Get(part),
                DictValue d => d.TryGet(part, out TemplateValue v) ? v : TemplateValue.Undefined,
                NamespaceValue ns => ns.Attributes.GetValueOrDefault(part, TemplateValue.Undefined),
                ListValue l when int.TryParse(part, CultureInfo.InvariantCulture, out int i) && i >= 0 && i < l.Items.Count => l.Items[i],
                _ => TemplateValue.Undefined,
            };
        }
        return current;
    }

    private static int SortCompare(TemplateValue x, TemplateValue y, bool caseSensitive)
    {
        if (!caseSensitive && x is StringValue sx && y is StringValue sy)
            return string.CompareOrdinal(sx.Value.ToLowerInvariant(), sy.Value.ToLowerInvariant());
        return TemplateOperators.Compare(x, y);
    }

    private static ListValue Sort(TemplateValue v, CallArguments a)
    {
        bool reverse = a.Get(0, "reverse")?.IsTruthy ?? false;
        bool caseSensitive = a.Get(1, "case_sensitive")?.IsTruthy ?? false;
        TemplateValue? attribute = a.Get(2, "attribute");
        var items = Iterate(v).ToList();
        TemplateValue Key(TemplateValue x) => attribute is null or NoneValue ? x : Attribute(x, attribute);
        var sorted = items.Select((x, i) => (x, i)).OrderBy(p => p, Comparer<(TemplateValue x, int i)>.Create((p, q) =>
        {
            int c = SortCompare(Key(p.x), Key(q.x), caseSensitive);
            return c != 0 ? (reverse ? -c : c) : p.i.CompareTo(q.i);
        })).Select(p => p.x).ToList();
        return new ListValue(sorted);
    }

    private static TemplateValue ToInt(TemplateValue v, TemplateValue fallback) => v switch
    {
        IntegerValue => v,
        BooleanValue b => new IntegerValue(b.Value ? 1 : 0),
        FloatValue f => new IntegerValue((long)Math.Truncate(f.Value)),
        StringValue s when long.TryParse(s.Value.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long l) => new IntegerValue(l),
        StringValue s when double.TryParse(s.Value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => new IntegerValue((long)Math.Truncate(d)),
        _ => fallback,
    };

    private static TemplateValue ToFloat(TemplateValue v, TemplateValue fallback) => v switch
    {
        FloatValue => v,
        IntegerValue or BooleanValue => new FloatValue(TemplateOperators.ToDouble(v)),
        StringValue s when double.TryParse(s.Value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => new FloatValue(d),
        _ => fallback,
    };

    /// <summary>A width argument (indent), as Python takes it: below zero as zero, refused past the length limit.</summary>
    private static int Width(long width, string what)
    {
        TemplateBudget.CheckLength(width, what);
        return (int)Math.Max(0, width);
    }

    /// <summary>The items' strings joined by <paramref name="separator"/>, refused past the length limit before it is built.</summary>
    public static StringValue Join(string separator, IEnumerable<TemplateValue> items)
    {
        var parts = items.Select(x => x.Render()).ToList();
        TemplateBudget.CheckLength(parts.Sum(p => (long)p.Length) + ((long)separator.Length * Math.Max(0, parts.Count - 1)), "a joined string");
        return new StringValue(string.Join(separator, parts));
    }

    private static StringValue Indent(string text, CallArguments a)
    {
        string pad = a.Get(0, "width") switch
        {
            StringValue s => s.Value,
            { } w => new string(' ', Width(TemplateOperators.ToLong(w), "an indent")),
            null => "    ",
        };
        bool first = a.Get(1, "first")?.IsTruthy ?? false;
        bool blank = a.Get(2, "blank")?.IsTruthy ?? false;
        string[] lines = text.Split('\n');
        TemplateBudget.CheckLength(text.Length + ((long)lines.Length * pad.Length), "an indented string");
        for (int i = 0; i < lines.Length; i++)
        {
            if (i == 0 && !first) continue;
            if (lines[i].Length == 0 && !blank) continue;
            lines[i] = pad + lines[i];
        }
        return new StringValue(string.Join("\n", lines));
    }

    private static TemplateJson.Options JsonOptions(CallArguments a)
    {
        int? indent = a.Get(0, "indent") is { } i and not NoneValue ? Width(TemplateOperators.ToLong(i), "a tojson indent") : null;
        string? item = null, key = null;
        if (a.Get(-1, "separators") is ListValue { Items.Count: 2 } seps)
        {
            item = seps.Items[0].Render();
            key = seps.Items[1].Render();
        }
        return new TemplateJson.Options(indent, item, key, a.Get(-1, "sort_keys")?.IsTruthy ?? false, a.Get(-1, "ensure_ascii")?.IsTruthy ?? false);
    }

    private static ListValue Map(TemplateValue v, CallArguments a)
    {
        if (a.Get(-1, "attribute") is { } attribute)
        {
            TemplateValue? fallback = a.Get(-1, "default");
            return new ListValue(Iterate(v).Select(x => Attribute(x, attribute) is UndefinedValue && fallback is not null ? fallback : Attribute(x, attribute)).ToList());
        }
        if (a.Positional.Count == 0 || a.Positional[0] is not StringValue filter) throw new TemplateError("map takes a filter name or attribute=");
        var rest = new CallArguments(a.Positional.Skip(1).ToList(), a.Keywords);
        return new ListValue(Iterate(v).Select(x => Apply(filter.Value, x, rest)).ToList());
    }

    private static ListValue Select(TemplateValue v, CallArguments a, bool keep, bool byAttribute)
    {
        int at = 0;
        TemplateValue? attribute = byAttribute ? a.Positional.ElementAtOrDefault(at++) : null;
        if (byAttribute && attribute is null) throw new TemplateError("selectattr/rejectattr take an attribute name");
        string? test = a.Positional.ElementAtOrDefault(at++) is StringValue t ? t.Value : null;
        var testArgs = a.Positional.Skip(at).ToList();
        bool Passes(TemplateValue x)
        {
            TemplateValue subject = attribute is null ? x : Attribute(x, attribute);
            if (test is null) return subject.IsTruthy;
            return TemplateTests.TryRun(test, subject, testArgs, out bool result) ? result : throw new TemplateError($"no test named '{test}'");
        }
        return new ListValue(Iterate(v).Where(x => Passes(x) == keep).ToList());
    }
}
