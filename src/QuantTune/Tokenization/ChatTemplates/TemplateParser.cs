using System.Globalization;

namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>
/// Jinja's grammar for the statements and expressions chat templates use, with Jinja's operator
/// precedence: conditional, or, and, not, comparisons (chained; in, not in), ~, + -, * / // %, **,
/// unary - +, then postfix (attribute, subscript, slice, call), filters and tests.
/// </summary>
internal sealed class TemplateParser
{
    private static readonly HashSet<string> BlockParts =
        ["elif", "else", "endif", "endfor", "endset", "endmacro", "endcall", "endfilter", "endgeneration", "endwith", "endblock"];

    private static readonly HashSet<string> CompareOperators = ["==", "!=", "<", ">", "<=", ">="];

    private readonly string _name;
    private readonly List<TemplateToken> _tokens;
    private readonly int _maxDepth;
    private int _pos;
    private int _depth;

    private TemplateParser(string name, List<TemplateToken> tokens, int maxDepth)
    {
        _name = name;
        _tokens = tokens;
        _maxDepth = maxDepth;
        _tokens.Add(new TemplateToken(TemplateTokenKind.End, "", tokens.Count == 0 ? 1 : tokens[^1].Line));
    }

    public static IReadOnlyList<TemplateNode> Parse(string name, string source, int maxDepth)
    {
        var parser = new TemplateParser(name, TemplateLexer.Tokenize(name, source), maxDepth);
        var body = parser.ParseBody([]);
        if (parser.Current.Kind != TemplateTokenKind.End)
        {
            throw parser.Error(parser.Current, $"'{{% {parser.Peek(1).Value} %}}' without the block it closes");
        }
        return body;
    }

    private TemplateToken Current => _tokens[_pos];

    /// <summary>One level deeper into blocks or expressions, refused past the limit (a hostile template must not overflow the stack).</summary>
    private DepthScope Nest()
    {
        if (++_depth > _maxDepth || !System.Runtime.CompilerServices.RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            throw Error(Current, $"blocks and expressions nest deeper than {_maxDepth} (TemplateLimits.MaxDepth)");
        }

        return new DepthScope(this);
    }

    private readonly struct DepthScope(TemplateParser parser) : IDisposable
    {
        public void Dispose() => parser._depth--;
    }

    private TemplateToken Peek(int ahead) => _tokens[Math.Min(_pos + ahead, _tokens.Count - 1)];

    private TemplateToken Next() => _tokens[_pos < _tokens.Count - 1 ? _pos++ : _pos];

    private ChatTemplateException Error(TemplateToken at, string problem) => new(_name, at.Line, problem);

    private bool IsOp(string op) => Current.Is(TemplateTokenKind.Operator, op);

    private bool IsName(string name) => Current.Is(TemplateTokenKind.Name, name);

    private bool SkipOp(string op)
    {
        if (!IsOp(op)) return false;
        _pos++;
        return true;
    }

    private bool SkipName(string name)
    {
        if (!IsName(name)) return false;
        _pos++;
        return true;
    }

    private void ExpectOp(string op)
    {
        if (!SkipOp(op)) throw Error(Current, $"expected '{op}', found {Current}");
    }

    private void ExpectName(string name)
    {
        if (!SkipName(name)) throw Error(Current, $"expected '{name}', found {Current}");
    }

    private string ExpectIdentifier(string what)
    {
        if (Current.Kind != TemplateTokenKind.Name) throw Error(Current, $"expected {what}, found {Current}");
        return Next().Value;
    }

    private void ExpectEndStatement()
    {
        if (Current.Kind != TemplateTokenKind.CloseStatement) throw Error(Current, $"expected '%}}', found {Current}");
        _pos++;
    }

    /// <summary>Nodes until a <c>{% name %}</c> whose name is in <paramref name="ends"/> (left unconsumed).</summary>
    private List<TemplateNode> ParseBody(HashSet<string> ends)
    {
        using DepthScope nested = Nest();
        var body = new List<TemplateNode>();
        while (true)
        {
            TemplateToken token = Current;
            switch (token.Kind)
            {
                case TemplateTokenKind.End:
                    if (ends.Count > 0) throw Error(token, $"the template ended where '{{% {string.Join(" %}' or '{% ", ends)} %}}' was expected");
                    return body;
                case TemplateTokenKind.Text:
                    _pos++;
                    body.Add(new TextNode(token.Value, token.Line));
                    break;
                case TemplateTokenKind.OpenExpression:
                    _pos++;
                    Expr value = ParseTuple();
                    if (Current.Kind != TemplateTokenKind.CloseExpression) throw Error(Current, $"expected '}}}}', found {Current}");
                    _pos++;
                    body.Add(new OutputNode(value, token.Line));
                    break;
                case TemplateTokenKind.OpenStatement:
                    TemplateToken keyword = Peek(1);
                    if (keyword.Kind == TemplateTokenKind.Name && ends.Contains(keyword.Value)) return body;
                    if (keyword.Kind == TemplateTokenKind.Name && BlockParts.Contains(keyword.Value))
                    {
                        string expected = ends.Count > 0 ? $" where '{{% {string.Join(" %}' or '{% ", ends)} %}}' was expected" : "";
                        throw Error(keyword, $"unexpected '{{% {keyword.Value} %}}'{expected}");
                    }
                    _pos++;
                    if (ParseStatement() is { } statement) body.Add(statement);
                    break;
                default:
                    throw Error(token, $"unexpected {token}");
            }
        }
    }

    /// <summary>Consumes <c>{% name</c> of a block's next part.</summary>
    private string BlockKeyword()
    {
        _pos++; // {%
        return Next().Value;
    }

    private TemplateNode? ParseStatement()
    {
        TemplateToken keyword = Current;
        if (keyword.Kind != TemplateTokenKind.Name) throw Error(keyword, $"expected a statement name after '{{%', found {keyword}");
        _pos++;
        switch (keyword.Value)
        {
            case "if": return ParseIf(keyword.Line);
            case "for": return ParseFor(keyword.Line);
            case "set": return ParseSet(keyword.Line);
            case "macro": return ParseMacro(keyword.Line);
            case "call": return ParseCallBlock(keyword.Line);
            case "filter": return ParseFilterBlock(keyword.Line);
            case "with": return ParseWith(keyword.Line);
            case "block":
                // Without a parent template to extend, a block renders in place.
                ExpectIdentifier("the block's name");
                SkipName("scoped");
                ExpectEndStatement();
                var blockBody = ParseBody(["endblock"]);
                BlockKeyword();
                if (Current.Kind == TemplateTokenKind.Name) _pos++;
                ExpectEndStatement();
                return new IfNode(new LiteralExpr(TemplateValue.True, keyword.Line), blockBody, [], keyword.Line);
            case "break":
                ExpectEndStatement();
                return new BreakNode(keyword.Line);
            case "continue":
                ExpectEndStatement();
                return new ContinueNode(keyword.Line);
            case "generation":
                // transformers' {% generation %} marks assistant text; it renders its body unchanged.
                ExpectEndStatement();
                var body = ParseBody(["endgeneration"]);
                BlockKeyword();
                ExpectEndStatement();
                return new IfNode(new LiteralExpr(TemplateValue.True, keyword.Line), body, [], keyword.Line);
            default:
                throw Error(keyword, $"the statement '{keyword.Value}' is not supported in chat templates");
        }
    }

    private IfNode ParseIf(int line)
    {
        Expr test = ParseExpression();
        ExpectEndStatement();
        var body = ParseBody(["elif", "else", "endif"]);
        TemplateToken at = Peek(1);
        string next = BlockKeyword();
        if (next == "elif")
        {
            return new IfNode(test, body, [ParseIf(at.Line)], line);
        }
        List<TemplateNode> otherwise = [];
        if (next == "else")
        {
            ExpectEndStatement();
            otherwise = ParseBody(["endif"]);
            BlockKeyword();
        }
        ExpectEndStatement();
        return new IfNode(test, body, otherwise, line);
    }

    private ForNode ParseFor(int line)
    {
        Expr target = ParseAssignTarget();
        ExpectName("in");
        Expr iterable = ParseTuple(withCondition: false);
        Expr? condition = SkipName("if") ? ParseExpression() : null;
        bool recursive = SkipName("recursive");
        ExpectEndStatement();
        var body = ParseBody(["endfor", "else"]);
        List<TemplateNode> otherwise = [];
        if (BlockKeyword() == "else")
        {
            ExpectEndStatement();
            otherwise = ParseBody(["endfor"]);
            BlockKeyword();
        }
        ExpectEndStatement();
        return new ForNode(target, iterable, condition, body, otherwise, line, recursive);
    }

    /// <summary><c>{% with a = x, b = y %}</c> (jinja2 parses each target, then '=', then an expression).</summary>
    private WithNode ParseWith(int line)
    {
        var assignments = new List<(Expr, Expr)>();
        while (Current.Kind != TemplateTokenKind.CloseStatement)
        {
            if (assignments.Count > 0) ExpectOp(",");
            Expr target = ParseAssignTarget();
            ExpectOp("=");
            assignments.Add((target, ParseExpression()));
        }
        ExpectEndStatement();
        var body = ParseBody(["endwith"]);
        BlockKeyword();
        ExpectEndStatement();
        return new WithNode(assignments, body, line);
    }

    /// <summary>A name, a tuple of names, or <c>ns.attr</c>.</summary>
    private Expr ParseAssignTarget(bool allowAttribute = false)
    {
        var names = new List<Expr>();
        do
        {
            TemplateToken token = Current;
            string name = ExpectIdentifier("a variable name");
            Expr target = new NameExpr(name, token.Line);
            if (allowAttribute && SkipOp("."))
            {
                target = new GetItemExpr(target, new LiteralExpr(new StringValue(ExpectIdentifier("an attribute name")), token.Line), true, token.Line);
            }
            names.Add(target);
        }
        while (SkipOp(","));
        return names.Count == 1 ? names[0] : new ListExpr(names, true, names[0].Line);
    }

    private SetNode ParseSet(int line)
    {
        Expr target = ParseAssignTarget(allowAttribute: true);
        if (SkipOp("="))
        {
            Expr value = ParseTuple();
            ExpectEndStatement();
            return new SetNode(target, value, [], line);
        }
        var filters = new List<FilterExpr>();
        while (SkipOp("|")) filters.Add(ParseFilter(null, line));
        ExpectEndStatement();
        List<TemplateNode> body = ParseBody(["endset"]);
        BlockKeyword();
        ExpectEndStatement();
        // {% set x | f | g %}: the body filtered by f, then g, as nested filter blocks.
        foreach (FilterExpr filter in filters) body = [new FilterBlockNode(filter, body, line)];
        return new SetNode(target, null, body, line);
    }

    private List<MacroParameter> ParseParameters()
    {
        var parameters = new List<MacroParameter>();
        ExpectOp("(");
        while (!SkipOp(")"))
        {
            if (parameters.Count > 0) ExpectOp(",");
            if (SkipOp(")")) break;
            string name = ExpectIdentifier("a parameter name");
            Expr? fallback = SkipOp("=") ? ParseExpression() : null;
            parameters.Add(new MacroParameter(name, fallback));
        }
        return parameters;
    }

    private MacroNode ParseMacro(int line)
    {
        string name = ExpectIdentifier("the macro's name");
        var parameters = ParseParameters();
        ExpectEndStatement();
        var body = ParseBody(["endmacro"]);
        BlockKeyword();
        ExpectEndStatement();
        return new MacroNode(name, parameters, body, line);
    }

    private CallBlockNode ParseCallBlock(int line)
    {
        List<MacroParameter> callerParameters = IsOp("(") ? ParseParameters() : [];
        Expr call = ParseExpression();
        if (call is not CallExpr callExpr) throw Error(Current, "expected a macro call after 'call'");
        ExpectEndStatement();
        var body = ParseBody(["endcall"]);
        BlockKeyword();
        ExpectEndStatement();
        return new CallBlockNode(callExpr, callerParameters, body, line);
    }

    private FilterBlockNode ParseFilterBlock(int line)
    {
        FilterExpr filter = ParseFilter(null, line);
        ExpectEndStatement();
        var body = ParseBody(["endfilter"]);
        BlockKeyword();
        ExpectEndStatement();
        return new FilterBlockNode(filter, body, line);
    }

    // ---- expressions ----

    /// <summary>An expression, or a tuple when commas follow (<c>{{ a, b }}</c>, <c>set x = a, b</c>).</summary>
    private Expr ParseTuple(bool withCondition = true)
    {
        int line = Current.Line;
        var items = new List<Expr>();
        bool trailingComma = false;
        while (true)
        {
            if (items.Count > 0)
            {
                if (!SkipOp(",")) break;
                trailingComma = true;
                if (IsTupleEnd()) break;
            }
            items.Add(withCondition ? ParseExpression() : ParseOr());
            trailingComma = false;
        }
        return items.Count == 1 && !trailingComma ? items[0] : new ListExpr(items, true, line);
    }

    private bool IsTupleEnd() =>
        Current.Kind is TemplateTokenKind.CloseExpression or TemplateTokenKind.CloseStatement or TemplateTokenKind.End
        || IsOp(")") || IsName("if") || IsName("in") || IsOp("=");

    private Expr ParseExpression()
    {
        using DepthScope nested = Nest();
        Expr value = ParseOr();
        while (IsName("if"))
        {
            int line = Next().Line;
            Expr test = ParseOr();
            Expr? otherwise = SkipName("else") ? ParseExpression() : null;
            value = new ConditionalExpr(test, value, otherwise, line);
        }
        return value;
    }

    private Expr ParseOr()
    {
        Expr left = ParseAnd();
        while (IsName("or"))
        {
            int line = Next().Line;
            left = new BinaryExpr("or", left, ParseAnd(), line);
        }
        return left;
    }

    private Expr ParseAnd()
    {
        Expr left = ParseNot();
        while (IsName("and"))
        {
            int line = Next().Line;
            left = new BinaryExpr("and", left, ParseNot(), line);
        }
        return left;
    }

    private Expr ParseNot()
    {
        using DepthScope nested = Nest();
        if (IsName("not"))
        {
            int line = Next().Line;
            return new UnaryExpr("not", ParseNot(), line);
        }
        return ParseCompare();
    }

    private Expr ParseCompare()
    {
        int line = Current.Line;
        Expr first = ParseConcat();
        var rest = new List<(string, Expr)>();
        while (true)
        {
            string op;
            if (Current.Kind == TemplateTokenKind.Operator && CompareOperators.Contains(Current.Value)) op = Next().Value;
            else if (SkipName("in")) op = "in";
            else if (IsName("not") && Peek(1).Is(TemplateTokenKind.Name, "in"))
            {
                _pos += 2;
                op = "not in";
            }
            else break;
            rest.Add((op, ParseConcat()));
        }
        return rest.Count == 0 ? first : new CompareExpr(first, rest, line);
    }

    private Expr ParseConcat()
    {
        Expr left = ParseAdditive();
        while (IsOp("~"))
        {
            int line = Next().Line;
            left = new BinaryExpr("~", left, ParseAdditive(), line);
        }
        return left;
    }

    private Expr ParseAdditive()
    {
        Expr left = ParseMultiplicative();
        while (IsOp("+") || IsOp("-"))
        {
            TemplateToken op = Next();
            left = new BinaryExpr(op.Value, left, ParseMultiplicative(), op.Line);
        }
        return left;
    }

    private Expr ParseMultiplicative()
    {
        Expr left = ParsePower();
        while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%"))
        {
            TemplateToken op = Next();
            left = new BinaryExpr(op.Value, left, ParsePower(), op.Line);
        }
        return left;
    }

    private Expr ParsePower()
    {
        Expr left = ParseUnary();
        while (IsOp("**"))
        {
            TemplateToken op = Next();
            left = new BinaryExpr("**", left, ParseUnary(), op.Line);
        }
        return left;
    }

    private Expr ParseUnary(bool withFilters = true)
    {
        using DepthScope nested = Nest();
        Expr value;
        if (IsOp("-") || IsOp("+"))
        {
            TemplateToken op = Next();
            value = new UnaryExpr(op.Value, ParseUnary(withFilters: false), op.Line);
        }
        else
        {
            value = ParsePostfix(ParsePrimary());
        }
        return withFilters ? ParseFiltersAndTests(value) : value;
    }

    private Expr ParsePrimary()
    {
        TemplateToken token = Next();
        switch (token.Kind)
        {
            case TemplateTokenKind.Name:
                return token.Value switch
                {
                    "true" or "True" => new LiteralExpr(TemplateValue.True, token.Line),
                    "false" or "False" => new LiteralExpr(TemplateValue.False, token.Line),
                    "none" or "None" => new LiteralExpr(TemplateValue.None, token.Line),
                    _ => new NameExpr(token.Value, token.Line),
                };
            case TemplateTokenKind.String:
                string text = token.Value;
                while (Current.Kind == TemplateTokenKind.String) text += Next().Value;
                return new LiteralExpr(new StringValue(text), token.Line);
            case TemplateTokenKind.Integer:
                return new LiteralExpr(new IntegerValue(Integer(token)), token.Line);
            case TemplateTokenKind.Float:
                return new LiteralExpr(new FloatValue(double.Parse(token.Value, CultureInfo.InvariantCulture)), token.Line);
            case TemplateTokenKind.Operator when token.Value == "(":
                if (SkipOp(")")) return new ListExpr([], true, token.Line);
                Expr inner = ParseTuple();
                ExpectOp(")");
                return inner;
            case TemplateTokenKind.Operator when token.Value == "[":
                var items = new List<Expr>();
                while (!SkipOp("]"))
                {
                    if (items.Count > 0) ExpectOp(",");
                    if (SkipOp("]")) break;
                    items.Add(ParseExpression());
                }
                return new ListExpr(items, false, token.Line);
            case TemplateTokenKind.Operator when token.Value == "{":
                var entries = new List<(Expr, Expr)>();
                while (!SkipOp("}"))
                {
                    if (entries.Count > 0) ExpectOp(",");
                    if (SkipOp("}")) break;
                    Expr key = ParseExpression();
                    ExpectOp(":");
                    entries.Add((key, ParseExpression()));
                }
                return new DictExpr(entries, token.Line);
            default:
                throw Error(token, $"unexpected {token} in an expression");
        }
    }

    /// <summary>An integer literal's value; one beyond 64 bits is a template error, not an overflow.</summary>
    long Integer(TemplateToken token) => long.TryParse(token.Value, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v
        : throw Error(token, $"the integer {token.Value} is too large; expected at most {long.MaxValue}");


    private Expr ParsePostfix(Expr value)
    {
        while (true)
        {
            TemplateToken token = Current;
            if (SkipOp("."))
            {
                TemplateToken member = Next();
                if (member.Kind == TemplateTokenKind.Name)
                    value = new GetItemExpr(value, new LiteralExpr(new StringValue(member.Value), member.Line), true, token.Line);
                else if (member.Kind == TemplateTokenKind.Integer)
                    value = new GetItemExpr(value, new LiteralExpr(new IntegerValue(Integer(member)), member.Line), false, token.Line);
                else throw Error(member, $"expected an attribute name after '.', found {member}");
            }
            else if (SkipOp("["))
            {
                value = ParseSubscript(value, token.Line);
            }
            else if (IsOp("("))
            {
                value = new CallExpr(value, ParseArguments(), token.Line);
            }
            else return value;
        }
    }

    private Expr ParseSubscript(Expr target, int line)
    {
        Expr?[] parts = [null, null, null];
        int part = 0;
        bool slice = false;
        while (!SkipOp("]"))
        {
            if (SkipOp(":"))
            {
                slice = true;
                if (++part > 2) throw Error(Current, "a slice takes at most three parts");
                continue;
            }
            if (parts[part] is not null) throw Error(Current, $"expected ']' or ':', found {Current}");
            parts[part] = ParseExpression();
        }
        if (slice) return new SliceExpr(target, parts[0], parts[1], parts[2], line);
        return parts[0] is { } key ? new GetItemExpr(target, key, false, line) : throw Error(Current, "an empty subscript '[]'");
    }

    private List<Argument> ParseArguments()
    {
        ExpectOp("(");
        var arguments = new List<Argument>();
        while (!SkipOp(")"))
        {
            if (arguments.Count > 0) ExpectOp(",");
            if (SkipOp(")")) break;
            if (SkipOp("**")) arguments.Add(new Argument(null, ParseExpression(), DoubleStar: true));
            else if (SkipOp("*")) arguments.Add(new Argument(null, ParseExpression(), Star: true));
            else if (Current.Kind == TemplateTokenKind.Name && Peek(1).Is(TemplateTokenKind.Operator, "="))
            {
                string name = Next().Value;
                _pos++;
                arguments.Add(new Argument(name, ParseExpression()));
            }
            else arguments.Add(new Argument(null, ParseExpression()));
        }
        return arguments;
    }

    private Expr ParseFiltersAndTests(Expr value)
    {
        while (true)
        {
            TemplateToken token = Current;
            if (SkipOp("|"))
            {
                value = ParseFilter(value, token.Line);
            }
            else if (SkipName("is"))
            {
                bool negated = SkipName("not");
                string name = ExpectIdentifier("a test name after 'is'");
                List<Argument> arguments = [];
                if (IsOp("(")) arguments = ParseArguments();
                else if (StartsTestArgument()) arguments = [new Argument(null, ParsePostfix(ParsePrimary()))];
                value = new TestExpr(value, name, arguments, negated, token.Line);
            }
            else if (IsOp("("))
            {
                value = new CallExpr(value, ParseArguments(), token.Line);
            }
            else return value;
        }
    }

    private bool StartsTestArgument()
    {
        TemplateToken t = Current;
        return t.Kind switch
        {
            TemplateTokenKind.String or TemplateTokenKind.Integer or TemplateTokenKind.Float => true,
            TemplateTokenKind.Name => t.Value is not ("else" or "or" or "and" or "if" or "is" or "in" or "not"),
            TemplateTokenKind.Operator => t.Value is "[" or "{",
            _ => false,
        };
    }

    private FilterExpr ParseFilter(Expr? operand, int line)
    {
        string name = ExpectIdentifier("a filter name");
        while (SkipOp(".")) name += "." + ExpectIdentifier("a filter name");
        List<Argument> arguments = IsOp("(") ? ParseArguments() : [];
        return new FilterExpr(operand, name, arguments, line);
    }
}
