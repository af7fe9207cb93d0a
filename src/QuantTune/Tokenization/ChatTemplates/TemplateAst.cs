namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>A node of a parsed chat template; each knows the template line it came from.</summary>
internal abstract record TemplateNode(int Line);

// ---- statements ----

internal sealed record TextNode(string Text, int Line) : TemplateNode(Line);

internal sealed record OutputNode(Expr Value, int Line) : TemplateNode(Line);

internal sealed record IfNode(Expr Test, IReadOnlyList<TemplateNode> Body, IReadOnlyList<TemplateNode> Else, int Line) : TemplateNode(Line);

/// <summary><c>{% for %}</c>; a <see cref="Recursive"/> loop can render its body again for a nested iterable with <c>loop(items)</c>.</summary>
internal sealed record ForNode(Expr Target, Expr Iterable, Expr? Condition, IReadOnlyList<TemplateNode> Body, IReadOnlyList<TemplateNode> Else, int Line, bool Recursive = false) : TemplateNode(Line);

/// <summary><c>{% with a = x, b = y %}body{% endwith %}</c>: the values, evaluated outside, are visible only in the body.</summary>
internal sealed record WithNode(IReadOnlyList<(Expr Target, Expr Value)> Assignments, IReadOnlyList<TemplateNode> Body, int Line) : TemplateNode(Line);

/// <summary><c>{% set target = value %}</c>, or the block form when <see cref="Value"/> is null.</summary>
internal sealed record SetNode(Expr Target, Expr? Value, IReadOnlyList<TemplateNode> Body, int Line) : TemplateNode(Line);

internal sealed record MacroNode(string Name, IReadOnlyList<MacroParameter> Parameters, IReadOnlyList<TemplateNode> Body, int Line) : TemplateNode(Line);

internal sealed record MacroParameter(string Name, Expr? Default);

/// <summary><c>{% call(params) macro(args) %}body{% endcall %}</c>: the body is the macro's <c>caller()</c>.</summary>
internal sealed record CallBlockNode(CallExpr Call, IReadOnlyList<MacroParameter> CallerParameters, IReadOnlyList<TemplateNode> Body, int Line) : TemplateNode(Line);

internal sealed record FilterBlockNode(FilterExpr Filter, IReadOnlyList<TemplateNode> Body, int Line) : TemplateNode(Line);

internal sealed record BreakNode(int Line) : TemplateNode(Line);

internal sealed record ContinueNode(int Line) : TemplateNode(Line);

// ---- expressions ----

internal abstract record Expr(int Line) : TemplateNode(Line);

internal sealed record LiteralExpr(TemplateValue Value, int Line) : Expr(Line);

internal sealed record NameExpr(string Name, int Line) : Expr(Line);

/// <summary><c>obj.name</c> (<see cref="Dotted"/>) or <c>obj[key]</c>.</summary>
internal sealed record GetItemExpr(Expr Target, Expr Key, bool Dotted, int Line) : Expr(Line);

internal sealed record SliceExpr(Expr Target, Expr? Start, Expr? Stop, Expr? Step, int Line) : Expr(Line);

internal sealed record CallExpr(Expr Callee, IReadOnlyList<Argument> Arguments, int Line) : Expr(Line);

/// <summary>A call argument: positional, <c>name=value</c>, <c>*list</c> or <c>**dict</c>.</summary>
internal sealed record Argument(string? Name, Expr Value, bool Star = false, bool DoubleStar = false);

internal sealed record FilterExpr(Expr? Operand, string Name, IReadOnlyList<Argument> Arguments, int Line) : Expr(Line);

internal sealed record TestExpr(Expr Operand, string Name, IReadOnlyList<Argument> Arguments, bool Negated, int Line) : Expr(Line);

internal sealed record UnaryExpr(string Operator, Expr Operand, int Line) : Expr(Line);

internal sealed record BinaryExpr(string Operator, Expr Left, Expr Right, int Line) : Expr(Line);

/// <summary>A comparison chain: <c>a &lt; b &lt;= c</c> is (a &lt; b) and (b &lt;= c).</summary>
internal sealed record CompareExpr(Expr First, IReadOnlyList<(string Operator, Expr Operand)> Rest, int Line) : Expr(Line);

internal sealed record ConditionalExpr(Expr Test, Expr WhenTrue, Expr? WhenFalse, int Line) : Expr(Line);

internal sealed record ListExpr(IReadOnlyList<Expr> Items, bool IsTuple, int Line) : Expr(Line);

internal sealed record DictExpr(IReadOnlyList<(Expr Key, Expr Value)> Entries, int Line) : Expr(Line);
