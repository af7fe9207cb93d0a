using System.Globalization;
using System.Numerics;
using System.Text;

namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>
/// Python's two string formattings as templates use them: <c>'%s: %5.2f' % (a, b)</c> (and the <c>format</c> filter,
/// which is the same) and <c>'{}: {:>8}'.format(a, b)</c>, with Python's conversions, flags, widths, precisions and
/// format specs. Widths and precisions are checked against the length budget before anything is padded.
/// </summary>
internal static class PythonFormat
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    // ---- printf style: format % values ----

    /// <summary><c>format % values</c>: a tuple gives the values in order, a dict the <c>%(name)s</c> values, anything else is one value.</summary>
    public static string Percent(string format, TemplateValue values)
    {
        IReadOnlyList<TemplateValue> positional = values is ListValue { IsTuple: true } tuple ? tuple.Items : [values];
        DictValue? mapping = values as DictValue;
        int next = 0;
        var text = new StringBuilder();
        TemplateValue NextValue()
        {
            if (next >= positional.Count) throw new TemplateError("not enough arguments for format string");
            return positional[next++];
        }
        int i = 0;
        while (i < format.Length)
        {
            int percent = format.IndexOf('%', i);
            if (percent < 0)
            {
                text.Append(format, i, format.Length - i);
                break;
            }
            text.Append(format, i, percent - i);
            i = percent + 1;
            if (i >= format.Length) throw new TemplateError("incomplete format");
            TemplateValue? keyed = null;
            if (format[i] == '(')
            {
                int close = format.IndexOf(')', i);
                if (close < 0) throw new TemplateError("incomplete format key");
                if (mapping is null) throw new TemplateError("format requires a mapping");
                string key = format[(i + 1)..close];
                keyed = mapping.TryGet(key, out TemplateValue v) ? v : throw new TemplateError($"KeyError: {PythonRepr.Of(new StringValue(key))}");
                i = close + 1;
            }
            var spec = new Spec();
            for (; i < format.Length && format[i] is '-' or '+' or ' ' or '#' or '0'; i++)
            {
                switch (format[i])
                {
                    case '-': spec.Align = '<'; break;
                    case '+': spec.Sign = '+'; break;
                    case ' ': spec.Sign = spec.Sign == '+' ? '+' : ' '; break;
                    case '#': spec.Alternate = true; break;
                    default: spec.ZeroPad = true; break;
                }
            }
            if (i < format.Length && format[i] == '*')
            {
                long w = TemplateOperators.ToLong(NextValue());
                if (w < 0) spec.Align = '<';
                spec.Width = Size(Math.Abs(w), "a width in a % format");
                i++;
            }
            else spec.Width = Number(format, ref i, "a width in a % format");
            if (i < format.Length && format[i] == '.')
            {
                i++;
                if (i < format.Length && format[i] == '*')
                {
                    spec.Precision = Size(Math.Max(0, TemplateOperators.ToLong(NextValue())), "a precision in a % format");
                    i++;
                }
                else spec.Precision = Number(format, ref i, "a precision in a % format") ?? 0;
            }
            while (i < format.Length && format[i] is 'h' or 'l' or 'L') i++;
            if (i >= format.Length) throw new TemplateError("incomplete format");
            char type = format[i++];
            if (type == '%')
            {
                text.Append('%');
                continue;
            }
            TemplateValue value = keyed ?? (mapping is not null && positional.Count == 1 && next == 0 && format.Contains("%(", StringComparison.Ordinal) ? throw new TemplateError("format requires a mapping") : NextValue());
            if (spec.Align == '<') spec.ZeroPad = false;
            text.Append(PercentOne(value, type, spec));
            TemplateBudget.CheckLength(text.Length, "a string made by % formatting");
        }
        if (mapping is null && next < positional.Count) throw new TemplateError("not all arguments converted during string formatting");
        return text.ToString();
    }

    private static string PercentOne(TemplateValue value, char type, Spec spec)
    {
        switch (type)
        {
            case 's' or 'r' or 'a':
                string s = type == 's' ? value.Render() : PythonRepr.Of(value);
                if (spec.Precision is { } p && p < s.Length) s = s[..p];
                return Pad("", s, spec with { ZeroPad = false }, '>');
            case 'c':
                string c = value switch
                {
                    StringValue { Value.Length: 1 } one => one.Value,
                    IntegerValue or BooleanValue => Character(TemplateOperators.ToLong(value)),
                    _ => throw new TemplateError("%c requires an int or a unicode character"),
                };
                return Pad("", c, spec with { ZeroPad = false }, '>');
            case 'd' or 'i' or 'u':
                if (!TemplateOperators.IsNumber(value)) throw new TemplateError($"%{type} format: a real number is required, not {value.TypeName}");
                long integer = value is FloatValue f ? Truncate(f.Value) : TemplateOperators.ToLong(value);
                string digits = Math.Abs((decimal)integer).ToString(Invariant);
                if (spec.Precision is { } minimum) digits = digits.PadLeft(Size(minimum, "a precision in a % format"), '0');
                return Pad(SignOf(integer < 0, spec.Sign), digits, spec, '>');
            case 'x' or 'X' or 'o':
                if (value is not (IntegerValue or BooleanValue)) throw new TemplateError($"%{type} format: an integer is required, not {value.TypeName}");
                long n = TemplateOperators.ToLong(value);
                string body = Radix(n, type == 'o' ? 8 : 16, type == 'X');
                if (spec.Precision is { } atLeast) body = body.PadLeft(Size(atLeast, "a precision in a % format"), '0');
                string prefix = spec.Alternate ? (type == 'o' ? "0o" : type == 'x' ? "0x" : "0X") : "";
                return Pad(SignOf(n < 0, spec.Sign) + prefix, body, spec, '>');
            case 'e' or 'E' or 'f' or 'F' or 'g' or 'G':
                if (!TemplateOperators.IsNumber(value)) throw new TemplateError($"must be real number, not {value.TypeName}");
                double x = TemplateOperators.ToDouble(value);
                string formatted = Float(Math.Abs(x), type, spec.Precision ?? 6, spec.Alternate);
                return Pad(SignOf(double.IsNegative(x) && !double.IsNaN(x), spec.Sign), formatted, spec with { ZeroPad = spec.ZeroPad && double.IsFinite(x) }, '>');
            default:
                throw new TemplateError($"unsupported format character '{type}' (0x{(int)type:x})");
        }
    }

    // ---- str.format ----

    /// <summary><c>format.format(*args, **kwargs)</c>: <c>{}</c>, <c>{0}</c>, <c>{name}</c>, <c>{0.attr}</c>, <c>{0[key]}</c>, <c>!r</c>/<c>!s</c>, <c>:spec</c>.</summary>
    public static string Format(string format, CallArguments arguments)
    {
        var text = new StringBuilder();
        int automatic = 0;
        bool? manual = null;
        int i = 0;
        while (i < format.Length)
        {
            char c = format[i];
            if (c == '}')
            {
                if (i + 1 < format.Length && format[i + 1] == '}')
                {
                    text.Append('}');
                    i += 2;
                    continue;
                }
                throw new TemplateError("Single '}' encountered in format string");
            }
            if (c != '{')
            {
                text.Append(c);
                i++;
                continue;
            }
            if (i + 1 < format.Length && format[i + 1] == '{')
            {
                text.Append('{');
                i += 2;
                continue;
            }
            int close = FieldEnd(format, i);
            string field = format[(i + 1)..close];
            i = close + 1;
            text.Append(ReplaceField(field, arguments, ref automatic, ref manual));
            TemplateBudget.CheckLength(text.Length, "a string made by format()");
        }
        return text.ToString();
    }

    private static int FieldEnd(string format, int open)
    {
        int depth = 0;
        for (int j = open; j < format.Length; j++)
        {
            if (format[j] == '{') depth++;
            else if (format[j] == '}' && --depth == 0) return j;
        }
        throw new TemplateError("expected '}' before end of string");
    }

    private static string ReplaceField(string field, CallArguments arguments, ref int automatic, ref bool? manual)
    {
        int colon = -1, bang = -1, bracket = 0;
        for (int j = 0; j < field.Length && colon < 0; j++)
        {
            if (field[j] == '[') bracket++;
            else if (field[j] == ']') bracket--;
            else if (bracket == 0 && field[j] == ':') colon = j;
            else if (bracket == 0 && field[j] == '!' && bang < 0) bang = j;
        }
        string spec = colon >= 0 ? field[(colon + 1)..] : "";
        string head = colon >= 0 ? field[..colon] : field;
        char? conversion = null;
        if (bang >= 0 && (colon < 0 || bang < colon))
        {
            string conv = head[(bang + 1)..];
            if (conv is not ("r" or "s" or "a")) throw new TemplateError(conv.Length == 1 ? $"Unknown conversion specifier {conv}" : "expected ':' after conversion specifier");
            conversion = conv[0];
            head = head[..bang];
        }
        TemplateValue value = Lookup(head, arguments, ref automatic, ref manual);
        if (conversion is { } cv) value = new StringValue(cv == 's' ? value.Render() : PythonRepr.Of(value));
        if (spec.Contains('{')) spec = Format(spec, arguments, ref automatic, ref manual);
        return FormatValue(value, spec);
    }

    /// <summary>A nested spec (<c>{:{width}}</c>), numbered on from the outer string's automatic fields.</summary>
    private static string Format(string spec, CallArguments arguments, ref int automatic, ref bool? manual)
    {
        var text = new StringBuilder();
        for (int i = 0; i < spec.Length; i++)
        {
            if (spec[i] != '{')
            {
                text.Append(spec[i]);
                continue;
            }
            int close = spec.IndexOf('}', i);
            if (close < 0) throw new TemplateError("unmatched '{' in format spec");
            text.Append(Lookup(spec[(i + 1)..close], arguments, ref automatic, ref manual).Render());
            i = close;
        }
        return text.ToString();
    }

    private static TemplateValue Lookup(string head, CallArguments arguments, ref int automatic, ref bool? manual)
    {
        int end = 0;
        while (end < head.Length && head[end] is not ('.' or '[')) end++;
        string first = head[..end];
        TemplateValue value;
        if (first.Length == 0 || first.All(char.IsAsciiDigit))
        {
            bool isManual = first.Length > 0;
            if (manual is { } m && m != isManual)
                throw new TemplateError(isManual ? "cannot switch from automatic field numbering to manual field specification" : "cannot switch from manual field specification to automatic field numbering");
            manual = isManual;
            int index = isManual ? int.Parse(first, Invariant) : automatic++;
            if (index >= arguments.Positional.Count) throw new TemplateError($"Replacement index {index} out of range for positional args tuple");
            value = arguments.Positional[index];
        }
        else
        {
            value = arguments.Keywords.LastOrDefault(k => k.Key == first).Value ?? throw new TemplateError($"KeyError: {PythonRepr.Of(new StringValue(first))}");
        }
        while (end < head.Length)
        {
            if (head[end] == '.')
            {
                int stop = end + 1;
                while (stop < head.Length && head[stop] is not ('.' or '[')) stop++;
                value = TemplateEvaluator.GetItem(value, new StringValue(head[(end + 1)..stop]), dotted: true);
                end = stop;
            }
            else
            {
                int stop = head.IndexOf(']', end);
                if (stop < 0) throw new TemplateError("Missing ']' in format string");
                string key = head[(end + 1)..stop];
                TemplateValue k = key.Length > 0 && key.All(char.IsAsciiDigit) ? new IntegerValue(long.Parse(key, Invariant)) : new StringValue(key);
                value = TemplateEvaluator.GetItem(value, k, dotted: false);
                end = stop + 1;
            }
        }
        return value;
    }

    /// <summary>Python's <c>format(value, spec)</c>: <c>[[fill]align][sign][#][0][width][,|_][.precision][type]</c>.</summary>
    public static string FormatValue(TemplateValue value, string specText)
    {
        if (specText.Length == 0) return value.Render();
        var spec = ParseSpec(specText);
        switch (value)
        {
            case StringValue s:
                if (spec.Type is not (null or 's')) throw new TemplateError($"Unknown format code '{spec.Type}' for object of type 'str'");
                if (spec.Sign is not null) throw new TemplateError("Sign not allowed in string format specifier");
                string text = spec.Precision is { } p && p < s.Value.Length ? s.Value[..p] : s.Value;
                return Pad("", text, spec, '<');
            case IntegerValue or BooleanValue when spec.Type is null or 'd' or 'n' or 'b' or 'o' or 'x' or 'X' or 'c':
                long n = TemplateOperators.ToLong(value);
                if (spec.Precision is not null) throw new TemplateError("Precision not allowed in integer format specifier");
                if (spec.Type == 'c') return Pad("", Character(n), spec, '<');
                string digits = spec.Type switch
                {
                    'b' => Radix(n, 2, false),
                    'o' => Radix(n, 8, false),
                    'x' => Radix(n, 16, false),
                    'X' => Radix(n, 16, true),
                    _ => Group(Math.Abs((decimal)n).ToString(Invariant), spec.Grouping),
                };
                string prefix = spec.Alternate ? spec.Type switch { 'b' => "0b", 'o' => "0o", 'x' => "0x", 'X' => "0X", _ => "" } : "";
                return Pad(SignOf(n < 0, spec.Sign) + prefix, digits, spec, '>');
            case IntegerValue or BooleanValue or FloatValue when spec.Type is null or 'e' or 'E' or 'f' or 'F' or 'g' or 'G' or '%' or 'n':
                double x = TemplateOperators.ToDouble(value);
                string body;
                if (spec.Type is null && spec.Precision is null) body = value is FloatValue ? FloatValue.PythonRepr(Math.Abs(x)) : Math.Abs((decimal)TemplateOperators.ToLong(value)).ToString(Invariant);
                else if (spec.Type is null)
                {
                    body = Float(Math.Abs(x), 'g', spec.Precision!.Value, spec.Alternate, earlyExponent: true);
                    if (double.IsFinite(x) && !body.Contains('e') && !body.Contains('.')) body += ".0";
                }
                else if (spec.Type == '%') body = Float(Math.Abs(x) * 100, 'f', spec.Precision ?? 6, spec.Alternate) + "%";
                else body = Float(Math.Abs(x), spec.Type == 'n' ? 'g' : spec.Type.Value, spec.Precision ?? 6, spec.Alternate);
                body = GroupNumber(body, spec.Grouping);
                return Pad(SignOf(double.IsNegative(x) && !double.IsNaN(x), spec.Sign), body, spec, '>');
            case IntegerValue or BooleanValue or FloatValue:
                throw new TemplateError($"Unknown format code '{spec.Type}' for object of type '{value.TypeName}'");
            default:
                throw new TemplateError($"unsupported format string passed to {value.TypeName}.__format__");
        }
    }

    private sealed record Spec
    {
        public char Fill { get; set; } = ' ';
        public char? Align { get; set; }
        public char? Sign { get; set; }
        public bool Alternate { get; set; }
        public bool ZeroPad { get; set; }
        public int? Width { get; set; }
        public char? Grouping { get; set; }
        public int? Precision { get; set; }
        public char? Type { get; set; }
    }

    private static Spec ParseSpec(string s)
    {
        var spec = new Spec();
        int i = 0;
        if (s.Length >= 2 && s[1] is '<' or '>' or '^' or '=')
        {
            spec.Fill = s[0];
            spec.Align = s[1];
            i = 2;
        }
        else if (s.Length >= 1 && s[0] is '<' or '>' or '^' or '=')
        {
            spec.Align = s[0];
            i = 1;
        }
        if (i < s.Length && s[i] is '+' or '-' or ' ') spec.Sign = s[i++];
        if (i < s.Length && s[i] == 'z') i++;
        if (i < s.Length && s[i] == '#')
        {
            spec.Alternate = true;
            i++;
        }
        if (i < s.Length && s[i] == '0')
        {
            spec.ZeroPad = true;
            i++;
        }
        spec.Width = Number(s, ref i, "a width in a format spec");
        if (i < s.Length && s[i] is ',' or '_') spec.Grouping = s[i++];
        if (i < s.Length && s[i] == '.')
        {
            i++;
            spec.Precision = Number(s, ref i, "a precision in a format spec") ?? throw new TemplateError("Format specifier missing precision");
        }
        if (i < s.Length) spec.Type = s[i++];
        if (i < s.Length) throw new TemplateError("Invalid format specifier");
        return spec;
    }

    // ---- shared ----

    private static int? Number(string s, ref int i, string what)
    {
        int start = i;
        while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        if (i == start) return null;
        return Size(long.TryParse(s.AsSpan(start, i - start), NumberStyles.None, Invariant, out long n) ? n : long.MaxValue, what);
    }

    /// <summary>A width or precision, refused past the length budget before anything that long is built.</summary>
    private static int Size(long n, string what)
    {
        TemplateBudget.CheckLength(n, what);
        return (int)n;
    }

    private static long Truncate(double x) => double.IsFinite(x) && Math.Abs(x) < 9.2e18 ? (long)Math.Truncate(x)
        : throw new TemplateError(double.IsFinite(x) ? "integer overflow: the value does not fit in 64 bits" : $"cannot convert float {FloatValue.PythonRepr(x)} to integer");

    /// <summary>The character with code point <paramref name="code"/> (<c>%c</c>, <c>{:c}</c>); a surrogate or one past Unicode is an error.</summary>
    private static string Character(long code) => code is >= 0 and < 0x110000 and not (>= 0xD800 and < 0xE000)
        ? char.ConvertFromUtf32((int)code)
        : throw new TemplateError($"%c arg not in range(0x110000) or a lone surrogate: {code}");

    private static string SignOf(bool negative, char? sign) => negative ? "-" : sign is '+' ? "+" : sign is ' ' ? " " : "";

    private static string Radix(long n, int radix, bool upper)
    {
        if (n == 0) return "0";
        var digits = new StringBuilder();
        ulong u = n < 0 ? (ulong)(-(n + 1)) + 1 : (ulong)n;
        for (; u > 0; u /= (ulong)radix) digits.Insert(0, "0123456789abcdef"[(int)(u % (ulong)radix)]);
        return upper ? digits.ToString().ToUpperInvariant() : digits.ToString();
    }

    private static string Group(string digits, char? separator)
    {
        if (separator is not { } sep || digits.Length <= 3) return digits;
        var text = new StringBuilder();
        for (int i = 0; i < digits.Length; i++)
        {
            if (i > 0 && (digits.Length - i) % 3 == 0) text.Append(sep);
            text.Append(digits[i]);
        }
        return text.ToString();
    }

    private static string GroupNumber(string body, char? separator)
    {
        if (separator is null) return body;
        int end = 0;
        while (end < body.Length && char.IsAsciiDigit(body[end])) end++;
        return Group(body[..end], separator) + body[end..];
    }

    /// <summary>A non-negative float in Python's <c>e</c>, <c>f</c> or <c>g</c> presentation (upper case for E, F, G).</summary>
    /// <remarks>No presentation type with a precision (<c>{:.3}</c>) is <c>g</c> switching to exponents one digit earlier (<paramref name="earlyExponent"/>).</remarks>
    private static string Float(double x, char type, int precision, bool alternate, bool earlyExponent = false)
    {
        bool upper = char.IsUpper(type);
        if (double.IsNaN(x)) return upper ? "NAN" : "nan";
        if (double.IsInfinity(x)) return upper ? "INF" : "inf";
        TemplateBudget.CheckLength(precision, "a precision in a format");
        string text;
        switch (char.ToLowerInvariant(type))
        {
            case 'f':
                text = Fixed(x, precision);
                if (alternate && precision == 0) text += ".";
                break;
            case 'e':
                text = Exponent(x, precision);
                if (alternate && precision == 0) text = text.Insert(text.IndexOf('e'), ".");
                break;
            default:
                int p = precision == 0 ? 1 : precision;
                int exponent = x == 0 ? 0 : ExponentOf(Exponent(x, p - 1));
                if (exponent >= -4 && exponent < (earlyExponent ? p - 1 : p))
                {
                    text = Fixed(x, p - 1 - exponent);
                    if (!alternate && text.Contains('.')) text = text.TrimEnd('0').TrimEnd('.');
                }
                else
                {
                    text = Exponent(x, p - 1);
                    if (!alternate)
                    {
                        int e = text.IndexOf('e');
                        string mantissa = text[..e];
                        if (mantissa.Contains('.')) mantissa = mantissa.TrimEnd('0').TrimEnd('.');
                        text = mantissa + text[e..];
                    }
                }
                break;
        }
        return upper ? text.ToUpperInvariant() : text;
    }

    /// <summary>
    /// The exact decimal value of a finite non-negative double: its digits and how many of them are after the point
    /// (a double's expansion ends within 1,074 fractional digits), so rounding can be Python's: correct, half to even.
    /// </summary>
    private static (string Digits, int Scale) Exact(double x)
    {
        long bits = BitConverter.DoubleToInt64Bits(x);
        int biased = (int)((bits >> 52) & 0x7FF);
        long mantissa = bits & 0xF_FFFF_FFFF_FFFFL;
        if (biased != 0) mantissa |= 1L << 52;
        int exponent = (biased == 0 ? 1 : biased) - 1075;
        if (mantissa == 0) return ("0", 0);
        if (exponent >= 0) return ((new BigInteger(mantissa) << exponent).ToString(Invariant), 0);
        return ((mantissa * BigInteger.Pow(5, -exponent)).ToString(Invariant), -exponent);
    }

    /// <summary>The first <paramref name="keep"/> digits of <paramref name="digits"/> rounded half to even; one digit longer when rounding carries (99.9 to 100).</summary>
    private static string Round(string digits, int keep)
    {
        if (keep >= digits.Length) return digits + new string('0', keep - digits.Length);
        char[] head = digits[..keep].ToCharArray();
        char first = digits[keep];
        bool rest = digits.AsSpan(keep + 1).IndexOfAnyExcept('0') >= 0;
        bool up = first > '5' || (first == '5' && (rest || (keep > 0 && (head[keep - 1] - '0') % 2 == 1)));
        if (!up) return new string(head);
        for (int i = keep - 1; i >= 0; i--)
        {
            if (head[i] != '9')
            {
                head[i]++;
                return new string(head);
            }
            head[i] = '0';
        }
        return "1" + new string(head);
    }

    /// <summary>Python's <c>%.{precision}f</c> of a finite non-negative double.</summary>
    private static string Fixed(double x, int precision)
    {
        var (digits, scale) = Exact(x);
        if (digits.Length <= scale) digits = new string('0', scale - digits.Length + 1) + digits;
        int integerDigits = digits.Length - scale;
        string rounded = Round(digits, integerDigits + precision);
        if (rounded.Length > integerDigits + precision) integerDigits++;
        string whole = rounded[..integerDigits].TrimStart('0');
        if (whole.Length == 0) whole = "0";
        return precision > 0 ? whole + "." + rounded[integerDigits..] : whole;
    }

    /// <summary>Python's <c>%.{precision}e</c> of a finite non-negative double: a mantissa and an exponent of at least two digits.</summary>
    private static string Exponent(double x, int precision)
    {
        var (digits, scale) = Exact(x);
        int exponent = digits.Length - 1 - scale;
        string rounded = Round(digits, precision + 1);
        if (rounded.Length > precision + 1)
        {
            exponent++;
            rounded = rounded[..(precision + 1)];
        }
        if (x == 0) exponent = 0;
        string mantissa = precision > 0 ? rounded[0] + "." + rounded[1..] : rounded;
        return $"{mantissa}e{(exponent < 0 ? '-' : '+')}{Math.Abs(exponent):00}";
    }

    private static int ExponentOf(string exponential) => int.Parse(exponential[(exponential.IndexOf('e') + 1)..], NumberStyles.AllowLeadingSign, Invariant);

    /// <summary><paramref name="prefix"/> (sign, 0x) and <paramref name="body"/> padded to the spec's width by its fill and alignment.</summary>
    private static string Pad(string prefix, string body, Spec spec, char defaultAlign)
    {
        int width = spec.Width ?? 0;
        int length = prefix.Length + body.Length;
        if (length >= width) return prefix + body;
        char fill = spec.Fill, align = spec.Align ?? defaultAlign;
        if (spec.ZeroPad && spec.Align is null)
        {
            fill = '0';
            align = '=';
        }
        int missing = width - length;
        return align switch
        {
            '<' => prefix + body + new string(fill, missing),
            '^' => new string(fill, missing / 2) + prefix + body + new string(fill, missing - (missing / 2)),
            '=' => prefix + new string(fill, missing) + body,
            _ => new string(fill, missing) + prefix + body,
        };
    }
}
