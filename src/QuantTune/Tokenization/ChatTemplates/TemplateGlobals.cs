using System.Globalization;
using System.Text;

namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>
/// The functions every chat template can call: Jinja's <c>range</c>, <c>namespace</c>, <c>dict</c>,
/// and transformers' <c>raise_exception</c> and <c>strftime_now</c>.
/// </summary>
internal static class TemplateGlobals
{
    public static void AddTo(TemplateScope scope, Func<DateTime> clock)
    {
        scope.Set("range", new CallableValue("range", Range));
        scope.Set("namespace", new CallableValue("namespace", Namespace));
        scope.Set("dict", new CallableValue("dict", a => DictValue.From(a.Keywords)));
        scope.Set("raise_exception", new CallableValue("raise_exception", a =>
            throw new TemplateError($"the template raised an exception: {(a.Positional.Count > 0 ? a.Positional[0].Render() : "")}")));
        scope.Set("strftime_now", new CallableValue("strftime_now", a =>
            new StringValue(Strftime(a.Get(0, "format")?.Render() ?? throw new TemplateError("strftime_now takes a format"), clock()))));
    }

    private static ListValue Range(CallArguments a)
    {
        var n = a.Positional.Select(TemplateOperators.ToLong).ToArray();
        (long start, long stop, long step) = n.Length switch
        {
            1 => (0, n[0], 1),
            2 => (n[0], n[1], 1),
            3 => (n[0], n[1], n[2]),
            _ => throw new TemplateError("range expects 1 to 3 integers"),
        };
        if (step == 0) throw new TemplateError("range() arg 3 must not be zero");
        var items = new List<TemplateValue>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step)
        {
            // jinja2's sandbox: "The sandbox blocks ranges larger than MAX_RANGE (100000)".
            if (items.Count == 100_000) throw new TemplateError("range() is too long: the sandbox allows at most 100,000 items, as jinja2's does");
            items.Add(new IntegerValue(i));
        }
        return new ListValue(items);
    }

    private static NamespaceValue Namespace(CallArguments a)
    {
        var ns = new NamespaceValue();
        if (a.Positional.Count > 0)
        {
            if (a.Positional[0] is not DictValue initial) throw new TemplateError("namespace() takes a mapping or keyword arguments");
            foreach (var e in initial.Entries) ns.Attributes[e.Key] = e.Value;
        }
        foreach (var e in a.Keywords) ns.Attributes[e.Key] = e.Value;
        return ns;
    }

    /// <summary>Python's <c>datetime.now().strftime(format)</c> for the codes templates use.</summary>
    public static string Strftime(string format, DateTime t)
    {
        var text = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 == format.Length)
            {
                text.Append(format[i]);
                continue;
            }
            char code = format[++i];
            text.Append(code switch
            {
                'd' => t.ToString("dd", c),
                'e' => t.Day.ToString(c).PadLeft(2),
                'm' => t.ToString("MM", c),
                'Y' => t.ToString("yyyy", c),
                'y' => t.ToString("yy", c),
                'b' => t.ToString("MMM", c),
                'B' => t.ToString("MMMM", c),
                'a' => t.ToString("ddd", c),
                'A' => t.ToString("dddd", c),
                'H' => t.ToString("HH", c),
                'I' => t.ToString("hh", c),
                'M' => t.ToString("mm", c),
                'S' => t.ToString("ss", c),
                'p' => t.Hour < 12 ? "AM" : "PM",
                'j' => t.DayOfYear.ToString("000", c),
                'F' => t.ToString("yyyy-MM-dd", c),
                'T' => t.ToString("HH:mm:ss", c),
                '%' => "%",
                _ => "%" + code,
            });
        }
        return text.ToString();
    }
}
