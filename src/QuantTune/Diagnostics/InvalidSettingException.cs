using System.Globalization;

namespace QuantTune.Diagnostics;

/// <summary>
/// A setting a library caller gave that cannot be used: a property of an options object, or a
/// parameter of a method, with its value and what was expected.
/// </summary>
/// <remarks>
/// <see cref="Setting"/> names the setting as a library caller sees it: <c>Type.Property</c> for
/// a property of an options or settings object (<c>IntegerScheme.Bits</c>,
/// <c>QstConfig.Reduction</c>, <c>FineTuneRequest.SequenceLength</c>), and
/// <c>Type.Method(parameter)</c> for a parameter of a method or constructor
/// (<c>PerplexityEvaluator.Evaluate(window)</c>). The message is
/// <c>"{Setting} = {Value}: {Problem}"</c>, or <c>"{Setting}: {Problem}"</c> when there is no
/// value to show; a problem that involves a second setting names it the same way, so a front end
/// that maps settings to its own names (the command line's options) can rewrite both.
/// </remarks>
public class InvalidSettingException : QuantTuneException
{
    /// <summary>The setting, <c>Type.Property</c> or <c>Type.Method(parameter)</c>.</summary>
    public string Setting { get; }

    /// <summary>The value given, formatted with the invariant culture; null when the problem is the setting's presence, not its value.</summary>
    public string? Value { get; }

    /// <summary>What is wrong and what was expected, without the setting's name.</summary>
    public string Problem { get; }

    public InvalidSettingException(string setting, object? value, string problem)
        : this(setting, value, problem, null) { }

    public InvalidSettingException(string setting, object? value, string problem, Exception? inner)
        : base(Compose(setting, Format(value), problem), inner)
    {
        Setting = setting;
        Value = Format(value);
        Problem = problem;
    }

    static string? Format(object? value) => value switch
    {
        null => null,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    static string Compose(string setting, string? value, string problem) =>
        value is null ? $"{setting}: {problem}" : $"{setting} = {value}: {problem}";
}
