namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>Python's arithmetic, comparison, equality and membership on template values.</summary>
internal static class TemplateOperators
{
    public static bool AreEqual(TemplateValue a, TemplateValue b)
    {
        if (IsNumber(a) && IsNumber(b)) return ToDouble(a) == ToDouble(b) && (a is not IntegerValue ia || b is not IntegerValue ib || ia.Value == ib.Value);
        return (a, b) switch
        {
            (StringValue x, StringValue y) => x.Value == y.Value,
            (NoneValue, NoneValue) or (UndefinedValue, UndefinedValue) => true,
            (ListValue x, ListValue y) => x.Items.Count == y.Items.Count && x.Items.Zip(y.Items).All(p => AreEqual(p.First, p.Second)),
            (DictValue x, DictValue y) => x.Entries.Count == y.Entries.Count
                && x.Entries.All(e => y.TryGet(e.Key, out TemplateValue other) && AreEqual(e.Value, other)),
            _ => ReferenceEquals(a, b),
        };
    }

    /// <summary>Numbers, with bool counting as 0/1 as in Python.</summary>
    public static bool IsNumber(TemplateValue v) => v is IntegerValue or FloatValue or BooleanValue;

    public static double ToDouble(TemplateValue v) => v switch
    {
        IntegerValue i => i.Value,
        FloatValue f => f.Value,
        BooleanValue b => b.Value ? 1 : 0,
        _ => throw new TemplateError($"expected a number, got {v.TypeName}"),
    };

    public static long ToLong(TemplateValue v) => v switch
    {
        IntegerValue i => i.Value,
        BooleanValue b => b.Value ? 1 : 0,
        _ => throw new TemplateError($"expected an integer, got {v.TypeName}"),
    };

    private static bool IsIntegral(TemplateValue v) => v is IntegerValue or BooleanValue;

    public static int Compare(TemplateValue a, TemplateValue b)
    {
        if (IsNumber(a) && IsNumber(b)) return ToDouble(a).CompareTo(ToDouble(b));
        if (a is StringValue x && b is StringValue y) return string.CompareOrdinal(x.Value, y.Value);
        if (a is ListValue la && b is ListValue lb)
        {
            for (int i = 0; i < Math.Min(la.Items.Count, lb.Items.Count); i++)
            {
                if (!AreEqual(la.Items[i], lb.Items[i])) return Compare(la.Items[i], lb.Items[i]);
            }
            return la.Items.Count.CompareTo(lb.Items.Count);
        }
        throw new TemplateError($"'<' is not supported between {a.TypeName} and {b.TypeName}");
    }

    public static bool Contains(TemplateValue container, TemplateValue item) => container switch
    {
        StringValue s when item is StringValue sub => s.Value.Contains(sub.Value, StringComparison.Ordinal),
        StringValue => throw new TemplateError($"'in <string>' requires a string on the left, got {item.TypeName}"),
        ListValue list => list.Items.Any(x => AreEqual(x, item)),
        DictValue dict => item is StringValue key && dict.TryGet(key.Value, out _),
        NamespaceValue ns => item is StringValue key && ns.Attributes.ContainsKey(key.Value),
        UndefinedValue => false,
        _ => throw new TemplateError($"argument of type {container.TypeName} is not iterable"),
    };

    public static TemplateValue Binary(string op, TemplateValue a, TemplateValue b)
    {
        switch (op)
        {
            case "~":
                string left = a.Render(), right = b.Render();
                TemplateBudget.CheckLength((long)left.Length + right.Length, "a string joined with ~");
                return new StringValue(left + right);
            case "+":
                if (a is StringValue sa && b is StringValue sb)
                {
                    TemplateBudget.CheckLength((long)sa.Value.Length + sb.Value.Length, "a string joined with +");
                    return new StringValue(sa.Value + sb.Value);
                }
                if (a is ListValue la && b is ListValue lb)
                {
                    TemplateBudget.CheckLength((long)la.Items.Count + lb.Items.Count, "a list joined with +");
                    return new ListValue([.. la.Items, .. lb.Items], la.IsTuple && lb.IsTuple);
                }
                break;
            case "%" when a is StringValue format:
                return new StringValue(PythonFormat.Percent(format.Value, b));
            case "*":
                if (a is StringValue rs && IsIntegral(b)) return new StringValue(string.Concat(Enumerable.Repeat(rs.Value, Repeats(rs.Value.Length, ToLong(b), "a string repeated with *"))));
                if (a is ListValue rl && IsIntegral(b)) return new ListValue(Enumerable.Repeat(rl.Items, Repeats(rl.Items.Count, ToLong(b), "a list repeated with *")).SelectMany(x => x).ToList(), rl.IsTuple);
                break;
        }
        if (!IsNumber(a) || !IsNumber(b))
        {
            throw new TemplateError($"unsupported operand types for {op}: {Describe(a)} and {Describe(b)}");
        }
        bool integers = IsIntegral(a) && IsIntegral(b);
        if (integers)
        {
            long x = ToLong(a), y = ToLong(b);
            switch (op)
            {
                case "+": return new IntegerValue(Checked(() => checked(x + y), x, op, y));
                case "-": return new IntegerValue(Checked(() => checked(x - y), x, op, y));
                case "*": return new IntegerValue(Checked(() => checked(x * y), x, op, y));
                case "//":
                    if (y == 0) throw new TemplateError("integer division by zero");
                    return new IntegerValue((long)Math.Floor((double)x / y));
                case "%":
                    if (y == 0) throw new TemplateError("integer modulo by zero");
                    long r = x % y;
                    return new IntegerValue(r != 0 && (r < 0) != (y < 0) ? r + y : r);
                case "**":
                    if (y >= 0) return new IntegerValue(Power(x, y));
                    break;
            }
        }
        double p = ToDouble(a), q = ToDouble(b);
        switch (op)
        {
            case "+": return new FloatValue(p + q);
            case "-": return new FloatValue(p - q);
            case "*": return new FloatValue(p * q);
            case "/":
                if (q == 0) throw new TemplateError("division by zero");
                return new FloatValue(p / q);
            case "//":
                if (q == 0) throw new TemplateError("float floor division by zero");
                return new FloatValue(Math.Floor(p / q));
            case "%":
                if (q == 0) throw new TemplateError("float modulo by zero");
                double m = p % q;
                return new FloatValue(m != 0 && (m < 0) != (q < 0) ? m + q : m);
            case "**": return new FloatValue(Math.Pow(p, q));
        }
        throw new TemplateError($"unknown operator {op}");
    }

    /// <summary>
    /// Integer arithmetic as Python's, within 64 bits: where Python would grow a big integer the template gets an
    /// error, never a silently wrapped value.
    /// </summary>
    private static long Checked(Func<long> operation, long x, string op, long y)
    {
        try
        {
            return operation();
        }
        catch (OverflowException)
        {
            throw new TemplateError($"integer overflow: {x} {op} {y} does not fit in 64 bits");
        }
    }

    /// <summary>x ** y for y ≥ 0 in 64 bits; past them an error (|x| ≥ 2 and y ≥ 64 always overflows).</summary>
    private static long Power(long x, long y) => x switch
    {
        0 => y == 0 ? 1 : 0,
        1 => 1,
        -1 => y % 2 == 0 ? 1 : -1,
        _ when y >= 64 => throw new TemplateError($"integer overflow: {x} ** {y} does not fit in 64 bits"),
        _ => Checked(() => (long)System.Numerics.BigInteger.Pow(x, (int)y), x, "**", y),
    };

    /// <summary>How many copies <c>* times</c> makes (none for a count below one), refused past the length limit before anything is built.</summary>
    private static int Repeats(int length, long times, string what)
    {
        if (times <= 0 || length == 0) return 0; // nothing to repeat: empty, however many times
        TemplateBudget.CheckLength(times > long.MaxValue / length ? long.MaxValue : times * length, what);
        return (int)times;
    }

    private static string Describe(TemplateValue v) => v is UndefinedValue ? "an undefined value" : $"'{v.TypeName}'";
}
