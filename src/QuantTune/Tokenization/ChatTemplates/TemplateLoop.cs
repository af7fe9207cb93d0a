namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>
/// Jinja's <c>loop</c> variable inside a for loop: <c>index</c>, <c>index0</c>, <c>revindex</c>, <c>first</c>,
/// <c>last</c>, <c>length</c>, <c>depth</c>, <c>previtem</c>/<c>nextitem</c>, <c>cycle(...)</c>, <c>changed(...)</c>
/// (true when its arguments differ from the previous call's in this loop), and, in a recursive loop, a callable
/// that renders the loop's body again for a nested iterable.
/// </summary>
internal sealed class LoopValue(IReadOnlyList<TemplateValue> items, int depth, Func<CallArguments, TemplateValue>? recurse) : TemplateValue
{
    private List<TemplateValue>? _lastChanged;

    /// <summary>The position (from 0) of the item being rendered.</summary>
    public int Position { get; set; }

    /// <summary>Renders the loop body again for the one iterable given; null when the loop is not <c>recursive</c>.</summary>
    public Func<CallArguments, TemplateValue>? Recurse { get; } = recurse;

    public override string TypeName => "LoopContext";
    public override bool IsTruthy => true;
    public override string Render() => $"<LoopContext {Position + 1}/{items.Count}>";

    /// <summary>The attribute <paramref name="name"/>, or undefined.</summary>
    public TemplateValue Get(string name)
    {
        int i = Position, n = items.Count;
        return name switch
        {
            "index" => new IntegerValue(i + 1),
            "index0" => new IntegerValue(i),
            "revindex" => new IntegerValue(n - i),
            "revindex0" => new IntegerValue(n - i - 1),
            "first" => Of(i == 0),
            "last" => Of(i == n - 1),
            "length" => new IntegerValue(n),
            "depth" => new IntegerValue(depth),
            "depth0" => new IntegerValue(depth - 1),
            "previtem" => i > 0 ? items[i - 1] : Undefined,
            "nextitem" => i < n - 1 ? items[i + 1] : Undefined,
            "cycle" => new CallableValue("cycle", a => a.Positional.Count > 0 ? a.Positional[i % a.Positional.Count]
                : throw new TemplateError("loop.cycle() takes at least one value")),
            "changed" => new CallableValue("changed", Changed),
            _ => Undefined,
        };
    }

    private BooleanValue Changed(CallArguments a)
    {
        var values = a.Positional.ToList();
        if (_lastChanged is not null && _lastChanged.Count == values.Count && _lastChanged.Zip(values).All(p => TemplateOperators.AreEqual(p.First, p.Second)))
        {
            return False;
        }
        _lastChanged = values;
        return True;
    }
}
