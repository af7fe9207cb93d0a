using System.Text;

namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>
/// Renders a parsed chat template: walks the statements, writing text and printed expressions,
/// with Jinja's semantics for scopes, loops (<c>loop.*</c>, <c>else</c>, break/continue),
/// <c>set</c> (names, tuples, namespace attributes, blocks), macros and call blocks.
/// </summary>
internal sealed class TemplateEvaluator(string templateName)
{
    private sealed class BreakSignal : Exception;

    private sealed class ContinueSignal : Exception;

    private static readonly BreakSignal Break = new();
    private static readonly ContinueSignal Continue = new();

    public string Render(IReadOnlyList<TemplateNode> body, TemplateScope scope)
    {
        var output = new StringBuilder();
        RenderBody(body, scope, output);
        return output.ToString();
    }

    private ChatTemplateException Fail(TemplateNode node, string problem) => new(templateName, node.Line, problem);

    private void RenderBody(IReadOnlyList<TemplateNode> body, TemplateScope scope, StringBuilder output)
    {
        foreach (TemplateNode node in body) RenderNode(node, scope, output);
    }

    private void RenderNode(TemplateNode node, TemplateScope scope, StringBuilder output)
    {
        try
        {
            TemplateBudget.CheckStack();
            RenderNodeCore(node, scope, output);
            TemplateBudget.CheckLength(output.Length, "the output");
        }
        catch (TemplateError e)
        {
            throw Fail(node, e.Message);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or OverflowException or InvalidCastException or IndexOutOfRangeException)
        {
            throw Fail(node, $"cannot render this statement ({e.Message})");
        }
    }

    private void RenderNodeCore(TemplateNode node, TemplateScope scope, StringBuilder output)
    {
        switch (node)
        {
            case TextNode text:
                output.Append(text.Text);
                break;
            case OutputNode print:
                output.Append(Evaluate(print.Value, scope).Render());
                break;
            case IfNode branch:
                RenderBody(Evaluate(branch.Test, scope).IsTruthy ? branch.Body : branch.Else, scope, output);
                break;
            case ForNode loop:
                RenderFor(loop, scope, output);
                break;
            case WithNode with:
                RenderWith(with, scope, output);
                break;
            case SetNode set:
                TemplateValue value = set.Value is { } v ? Evaluate(v, scope) : new StringValue(Render(set.Body, scope));
                Assign(set.Target, value, scope);
                break;
            case MacroNode macro:
                scope.Set(macro.Name, MakeMacro(macro.Name, macro.Parameters, macro.Body, scope, caller: null));
                break;
            case CallBlockNode call:
                var caller = MakeMacro("caller", call.CallerParameters, call.Body, scope, caller: null);
                var callScope = new TemplateScope(scope);
                callScope.Set("caller", caller);
                output.Append(Evaluate(call.Call, callScope).Render());
                break;
            case FilterBlockNode filter:
                output.Append(ApplyFilter(filter.Filter, new StringValue(Render(filter.Body, scope)), scope).Render());
                break;
            case BreakNode:
                throw Break;
            case ContinueNode:
                throw Continue;
            default:
                throw Fail(node, $"cannot render a {node.GetType().Name}");
        }
    }

    private void RenderFor(ForNode loop, TemplateScope scope, StringBuilder output) =>
        RenderLoop(loop, Evaluate(loop.Iterable, scope), scope, output, depth: 1);

    /// <summary>One pass of a for loop over <paramref name="iterable"/>; a recursive loop's <c>loop(items)</c> comes back here one level deeper.</summary>
    private void RenderLoop(ForNode loop, TemplateValue iterable, TemplateScope scope, StringBuilder output, int depth)
    {
        List<TemplateValue> items;
        try
        {
            items = TemplateFilters.Iterate(iterable).ToList();
        }
        catch (TemplateError e)
        {
            throw Fail(loop, e.Message);
        }
        var loopScope = new TemplateScope(scope);
        var budget = TemplateBudget.Current;
        if (loop.Condition is { } condition)
        {
            items = items.Where(item =>
            {
                budget.Iterate();
                Assign(loop.Target, item, loopScope);
                return Evaluate(condition, loopScope).IsTruthy;
            }).ToList();
        }
        Func<CallArguments, TemplateValue>? recurse = loop.Recursive ? arguments => RenderNested(loop, arguments, scope, depth) : null;
        var state = new LoopValue(items, depth, recurse);
        for (int i = 0; i < items.Count; i++)
        {
            budget.Iterate();
            state.Position = i;
            loopScope.Set("loop", state);
            Assign(loop.Target, items[i], loopScope);
            try
            {
                RenderBody(loop.Body, loopScope, output);
            }
            catch (ContinueSignal)
            {
            }
            catch (BreakSignal)
            {
                break;
            }
        }
        if (items.Count == 0) RenderBody(loop.Else, loopScope, output);
    }

    /// <summary><c>loop(items)</c> in a recursive loop: the body rendered for <c>items</c>, counted as a call against the depth budget.</summary>
    private StringValue RenderNested(ForNode loop, CallArguments arguments, TemplateScope scope, int depth)
    {
        if (arguments.Positional.Count != 1 || arguments.Keywords.Count != 0)
            throw new TemplateError($"loop() takes exactly one iterable, got {arguments.Positional.Count + arguments.Keywords.Count} arguments");
        var budget = TemplateBudget.Current;
        budget.EnterCall("loop");
        try
        {
            var nested = new StringBuilder();
            RenderLoop(loop, arguments.Positional[0], scope, nested, depth + 1);
            return new StringValue(nested.ToString());
        }
        finally
        {
            budget.LeaveCall();
        }
    }

    private void RenderWith(WithNode with, TemplateScope scope, StringBuilder output)
    {
        var values = with.Assignments.Select(a => Evaluate(a.Value, scope)).ToList();
        var withScope = new TemplateScope(scope);
        for (int i = 0; i < values.Count; i++) Assign(with.Assignments[i].Target, values[i], withScope);
        RenderBody(with.Body, withScope, output);
    }

    private void Assign(Expr target, TemplateValue value, TemplateScope scope)
    {
        switch (target)
        {
            case NameExpr name:
                scope.Set(name.Name, value);
                break;
            case ListExpr { IsTuple: true } tuple:
                var items = value is ListValue or StringValue or DictValue ? TemplateFilters.Iterate(value).ToList()
                    : throw Fail(target, $"cannot unpack a {value.TypeName} into {tuple.Items.Count} names");
                if (items.Count != tuple.Items.Count)
                    throw Fail(target, $"expected {tuple.Items.Count} values to unpack, got {items.Count}");
                for (int i = 0; i < items.Count; i++) Assign(tuple.Items[i], items[i], scope);
                break;
            case GetItemExpr { Dotted: true, Key: LiteralExpr { Value: StringValue attribute } } member:
                if (Evaluate(member.Target, scope) is not NamespaceValue ns)
                    throw Fail(target, "cannot assign an attribute of something that is not a namespace()");
                ns.Attributes[attribute.Value] = value;
                break;
            default:
                throw Fail(target, "cannot assign to this expression");
        }
    }

    private CallableValue MakeMacro(string name, IReadOnlyList<MacroParameter> parameters, IReadOnlyList<TemplateNode> body, TemplateScope definedIn, CallableValue? caller)
    {
        return new CallableValue(name, arguments =>
        {
            var budget = TemplateBudget.Current;
            budget.EnterCall(name);
            try
            {
                return CallMacro(parameters, body, definedIn, arguments);
            }
            finally
            {
                budget.LeaveCall();
            }
        });
    }

    private StringValue CallMacro(IReadOnlyList<MacroParameter> parameters, IReadOnlyList<TemplateNode> body, TemplateScope definedIn, CallArguments arguments)
    {
        var macroScope = new TemplateScope(definedIn);
        var keywords = arguments.Keywords.ToDictionary(k => k.Key, k => k.Value, StringComparer.Ordinal);
        for (int i = 0; i < parameters.Count; i++)
        {
            MacroParameter p = parameters[i];
            TemplateValue? given = i < arguments.Positional.Count ? arguments.Positional[i] : keywords.Remove(p.Name, out TemplateValue? k) ? k : null;
            macroScope.Set(p.Name, given ?? (p.Default is { } d ? Evaluate(d, macroScope) : TemplateValue.Undefined));
        }
        macroScope.Set("varargs", new ListValue(arguments.Positional.Skip(parameters.Count).ToList()));
        macroScope.Set("kwargs", DictValue.From(keywords));
        return new StringValue(Render(body, macroScope));
    }

    public TemplateValue Evaluate(Expr expr, TemplateScope scope)
    {
        try
        {
            TemplateBudget.CheckStack();
            return EvaluateCore(expr, scope);
        }
        catch (TemplateError e)
        {
            throw Fail(expr, e.Message);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or OverflowException or InvalidCastException or IndexOutOfRangeException)
        {
            // A value no operation was written for: the template's error, with its line, not the process's.
            throw Fail(expr, $"cannot evaluate this expression ({e.Message})");
        }
    }

    private TemplateValue EvaluateCore(Expr expr, TemplateScope scope)
    {
        switch (expr)
        {
            case LiteralExpr literal:
                return literal.Value;
            case NameExpr name:
                return scope.Lookup(name.Name);
            case GetItemExpr get:
                return GetItem(Evaluate(get.Target, scope), Evaluate(get.Key, scope), get.Dotted);
            case SliceExpr slice:
                return Slice(Evaluate(slice.Target, scope), Optional(slice.Start, scope), Optional(slice.Stop, scope), Optional(slice.Step, scope));
            case CallExpr call:
                TemplateValue callee = Evaluate(call.Callee, scope);
                if (callee is LoopValue loopValue)
                {
                    return loopValue.Recurse is { } recurse ? recurse(Arguments(call.Arguments, scope))
                        : throw new TemplateError("loop() was called in a loop that is not recursive (add 'recursive' after the loop's iterable)");
                }
                if (callee is not CallableValue function)
                {
                    throw new TemplateError(callee switch
                    {
                        UndefinedValue { Refusal: { } refusal } => refusal,
                        UndefinedValue => $"'{Describe(call.Callee)}' is undefined and cannot be called",
                        _ => $"a {callee.TypeName} cannot be called",
                    });
                }
                return function.Invoke(Arguments(call.Arguments, scope));
            case FilterExpr filter:
                return ApplyFilter(filter, filter.Operand is { } operand ? Evaluate(operand, scope) : TemplateValue.Undefined, scope);
            case TestExpr test:
                TemplateValue subject = Evaluate(test.Operand, scope);
                var args = Arguments(test.Arguments, scope).Positional;
                if (!TemplateTests.TryRun(test.Name, subject, args, out bool passed))
                    throw new TemplateError($"the test '{test.Name}' is not supported");
                return TemplateValue.Of(passed != test.Negated);
            case UnaryExpr unary:
                TemplateValue operandValue = Evaluate(unary.Operand, scope);
                return unary.Operator switch
                {
                    "not" => TemplateValue.Of(!operandValue.IsTruthy),
                    "-" => operandValue is IntegerValue or BooleanValue ? TemplateOperators.Binary("-", new IntegerValue(0), operandValue) : new FloatValue(-TemplateOperators.ToDouble(operandValue)),
                    _ => operandValue is IntegerValue or BooleanValue ? new IntegerValue(TemplateOperators.ToLong(operandValue)) : new FloatValue(TemplateOperators.ToDouble(operandValue)),
                };
            case BinaryExpr { Operator: "and" } and:
                TemplateValue left = Evaluate(and.Left, scope);
                return left.IsTruthy ? Evaluate(and.Right, scope) : left;
            case BinaryExpr { Operator: "or" } or:
                TemplateValue first = Evaluate(or.Left, scope);
                return first.IsTruthy ? first : Evaluate(or.Right, scope);
            case BinaryExpr binary:
                return TemplateOperators.Binary(binary.Operator, Evaluate(binary.Left, scope), Evaluate(binary.Right, scope));
            case CompareExpr compare:
                TemplateValue a = Evaluate(compare.First, scope);
                foreach (var (op, operandExpr) in compare.Rest)
                {
                    TemplateValue b = Evaluate(operandExpr, scope);
                    bool holds = op switch
                    {
                        "==" => TemplateOperators.AreEqual(a, b),
                        "!=" => !TemplateOperators.AreEqual(a, b),
                        "<" => TemplateOperators.Compare(a, b) < 0,
                        "<=" => TemplateOperators.Compare(a, b) <= 0,
                        ">" => TemplateOperators.Compare(a, b) > 0,
                        ">=" => TemplateOperators.Compare(a, b) >= 0,
                        "in" => TemplateOperators.Contains(b, a),
                        _ => !TemplateOperators.Contains(b, a),
                    };
                    if (!holds) return TemplateValue.False;
                    a = b;
                }
                return TemplateValue.True;
            case ConditionalExpr conditional:
                return Evaluate(conditional.Test, scope).IsTruthy ? Evaluate(conditional.WhenTrue, scope)
                    : conditional.WhenFalse is { } otherwise ? Evaluate(otherwise, scope) : TemplateValue.Undefined;
            case ListExpr list:
                return new ListValue(list.Items.Select(i => Evaluate(i, scope)).ToList(), list.IsTuple);
            case DictExpr dict:
                return DictValue.From(dict.Entries.Select(e =>
                    new KeyValuePair<string, TemplateValue>(Evaluate(e.Key, scope) is StringValue k ? k.Value : throw new TemplateError("dict keys must be strings"), Evaluate(e.Value, scope))));
            default:
                throw new TemplateError($"cannot evaluate a {expr.GetType().Name}");
        }
    }

    private static string Describe(Expr e) => e switch
    {
        NameExpr n => n.Name,
        GetItemExpr { Key: LiteralExpr { Value: StringValue s } } g => Describe(g.Target) + "." + s.Value,
        _ => "the expression",
    };

    private TemplateValue? Optional(Expr? e, TemplateScope scope) => e is null ? null : Evaluate(e, scope);

    private TemplateValue ApplyFilter(FilterExpr filter, TemplateValue operand, TemplateScope scope)
    {
        try
        {
            return TemplateFilters.Apply(filter.Name, operand, Arguments(filter.Arguments, scope));
        }
        catch (TemplateError e)
        {
            throw Fail(filter, e.Message);
        }
    }

    private CallArguments Arguments(IReadOnlyList<Argument> arguments, TemplateScope scope)
    {
        if (arguments.Count == 0) return CallArguments.Empty;
        var positional = new List<TemplateValue>();
        var keywords = new List<KeyValuePair<string, TemplateValue>>();
        foreach (Argument argument in arguments)
        {
            TemplateValue value = Evaluate(argument.Value, scope);
            if (argument.Star) positional.AddRange(TemplateFilters.Iterate(value));
            else if (argument.DoubleStar)
            {
                if (value is not DictValue d) throw new TemplateError("** takes a mapping");
                keywords.AddRange(d.Entries);
            }
            else if (argument.Name is { } name) keywords.Add(new(name, value));
            else positional.Add(value);
        }
        return new CallArguments(positional, keywords);
    }

    /// <summary><c>target.key</c> (<paramref name="dotted"/>) or <c>target[key]</c>, undefined where there is none.</summary>
    internal static TemplateValue GetItem(TemplateValue target, TemplateValue key, bool dotted)
    {
        switch (target)
        {
            case LoopValue loop when key is StringValue k:
                return loop.Get(k.Value);
            case ListValue { Fields: { } fields } named when key is StringValue k && fields.Contains(k.Value):
                return named.Items[fields.ToList().IndexOf(k.Value)];
            case ListValue list when key is StringValue method:
                return TemplateMethods.Find(list, method.Value) ?? TemplateValue.Undefined;
            case DictValue dict when key is StringValue k:
                if (dict.TryGet(k.Value, out TemplateValue v)) return v;
                return dotted ? TemplateMethods.Find(dict, k.Value) ?? TemplateValue.Undefined : TemplateValue.Undefined;
            case NamespaceValue ns when key is StringValue k:
                return ns.Attributes.GetValueOrDefault(k.Value, TemplateValue.Undefined);
            case ListValue list when key is IntegerValue or BooleanValue:
                long i = TemplateOperators.ToLong(key);
                if (i < 0) i += list.Items.Count;
                return i >= 0 && i < list.Items.Count ? list.Items[(int)i] : TemplateValue.Undefined;
            case StringValue s when key is IntegerValue or BooleanValue:
                long j = TemplateOperators.ToLong(key);
                if (j < 0) j += s.Value.Length;
                return j >= 0 && j < s.Value.Length ? new StringValue(s.Value[(int)j].ToString()) : TemplateValue.Undefined;
            case StringValue s when key is StringValue method:
                return TemplateMethods.Find(s, method.Value) ?? TemplateValue.Undefined;
            default:
                return TemplateValue.Undefined;
        }
    }

    private static TemplateValue Slice(TemplateValue target, TemplateValue? start, TemplateValue? stop, TemplateValue? step)
    {
        long Bound(TemplateValue? v) => TemplateOperators.ToLong(v!);
        static bool Missing(TemplateValue? v) => v is null or NoneValue;
        int length = target switch
        {
            ListValue l => l.Items.Count,
            StringValue s => s.Value.Length,
            _ => throw new TemplateError($"a {target.TypeName} cannot be sliced"),
        };
        long by = Missing(step) ? 1 : Bound(step);
        if (by == 0) throw new TemplateError("slice step cannot be zero");
        long Clamp(TemplateValue? v, long whenMissing)
        {
            if (Missing(v)) return whenMissing;
            long x = Bound(v);
            if (x < 0) x += length;
            return by > 0 ? Math.Clamp(x, 0, length) : Math.Clamp(x, -1, length - 1);
        }
        long from = Clamp(start, by > 0 ? 0 : length - 1);
        long to = Clamp(stop, by > 0 ? length : -1);
        var indices = new List<int>();
        for (long i = from; by > 0 ? i < to : i > to; i += by) indices.Add((int)i);
        return target switch
        {
            ListValue l => new ListValue(indices.Select(i => l.Items[i]).ToList(), l.IsTuple),
            StringValue s => new StringValue(new string(indices.Select(i => s.Value[i]).ToArray())),
            _ => TemplateValue.Undefined,
        };
    }
}
