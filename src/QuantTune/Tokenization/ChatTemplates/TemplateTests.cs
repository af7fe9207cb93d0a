namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>Jinja's tests, the right side of <c>x is defined</c>, <c>x is not none</c>, <c>x is divisibleby(3)</c>.</summary>
internal static class TemplateTests
{
    public static bool TryRun(string name, TemplateValue v, IReadOnlyList<TemplateValue> args, out bool result)
    {
        TemplateValue Arg() => args.Count > 0 ? args[0] : throw new TemplateError($"the test '{name}' takes an argument");
        bool? outcome = name switch
        {
            "defined" => v is not UndefinedValue,
            "undefined" => v is UndefinedValue,
            "none" => v is NoneValue,
            "true" => v is BooleanValue { Value: true },
            "false" => v is BooleanValue { Value: false },
            "boolean" => v is BooleanValue,
            "string" => v is StringValue,
            "number" => v is IntegerValue or FloatValue,
            "integer" => v is IntegerValue,
            "float" => v is FloatValue,
            "mapping" => v is DictValue,
            "iterable" => v is StringValue or ListValue or DictValue,
            "sequence" => v is StringValue or ListValue or DictValue,
            "callable" => v is CallableValue or LoopValue,
            "odd" => TemplateOperators.ToLong(v) % 2 != 0,
            "even" => TemplateOperators.ToLong(v) % 2 == 0,
            "divisibleby" => TemplateOperators.ToLong(v) % TemplateOperators.ToLong(Arg()) == 0,
            "lower" => v is StringValue s && s.Value == s.Value.ToLowerInvariant(),
            "upper" => v is StringValue u && u.Value == u.Value.ToUpperInvariant(),
            "equalto" or "eq" or "==" or "sameas" => TemplateOperators.AreEqual(v, Arg()),
            "ne" or "!=" => !TemplateOperators.AreEqual(v, Arg()),
            "lt" or "lessthan" or "<" => TemplateOperators.Compare(v, Arg()) < 0,
            "le" or "<=" => TemplateOperators.Compare(v, Arg()) <= 0,
            "gt" or "greaterthan" or ">" => TemplateOperators.Compare(v, Arg()) > 0,
            "ge" or ">=" => TemplateOperators.Compare(v, Arg()) >= 0,
            "in" => TemplateOperators.Contains(Arg(), v),
            _ => null,
        };
        result = outcome ?? false;
        return outcome is not null;
    }
}
