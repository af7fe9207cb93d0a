using System.Globalization;
using System.Text.RegularExpressions;
using QuantTune.Diagnostics;
using QuantTune.Training.Data;

namespace QuantTune.Training.Alignment.Grpo.Rewards;

/// <summary>
/// 1 when the completion's answer equals the record's, else 0, as GSM8K scoring scripts check it: the completion's
/// answer is its last <c>\boxed{…}</c>, else its last number; the record's is the text after "####" (GSM8K's form),
/// else its last <c>\boxed{…}</c>, else its last number, else the whole field. Numbers compare as numbers (thousands
/// separators, a leading $ and a trailing period dropped), anything else as trimmed text.
/// </summary>
/// <param name="field">The record's field holding the answer ("answer" by default).</param>
public sealed partial class ExactAnswerReward(string field = "answer") : IReward
{
    public double Score(string completion, PromptRecord prompt)
    {
        var expected = prompt.Field(field) ?? throw new QuantTuneException($"line {prompt.Line}: the exact-answer reward reads field '{field}', which the record does not have");
        var reference = ReferenceAnswer(expected);
        var answer = Answer(completion);
        return answer is not null && Same(answer, reference) ? 1.0 : 0.0;
    }

    /// <summary>The completion's answer: the last \boxed{…}, else the last number; null when it has neither.</summary>
    public static string? Answer(string text) => LastBoxed(text) ?? LastNumber(text);

    /// <summary>A record's answer: after GSM8K's "####", else as <see cref="Answer"/>, else the whole text.</summary>
    public static string ReferenceAnswer(string text)
    {
        int mark = text.LastIndexOf("####", StringComparison.Ordinal);
        if (mark >= 0) return text[(mark + 4)..].Trim();
        return Answer(text) ?? text.Trim();
    }

    static bool Same(string a, string b)
    {
        if (Number(a) is decimal x && Number(b) is decimal y) return x == y;
        return string.Equals(a.Trim(), b.Trim(), StringComparison.Ordinal);
    }

    static decimal? Number(string s)
    {
        var t = s.Trim().TrimStart('$').Replace(",", "", StringComparison.Ordinal).TrimEnd('.');
        return decimal.TryParse(t, NumberStyles.Number, CultureInfo.InvariantCulture, out var d) ? d : null;
    }

    static string? LastBoxed(string text)
    {
        int at = text.LastIndexOf("\\boxed{", StringComparison.Ordinal);
        if (at < 0) return null;
        int start = at + "\\boxed{".Length, depth = 1;
        for (int i = start; i < text.Length; i++)
        {
            if (text[i] == '{') depth++;
            else if (text[i] == '}' && --depth == 0) return text[start..i].Trim();
        }
        return null;
    }

    static string? LastNumber(string text)
    {
        var matches = NumberPattern().Matches(text);
        return matches.Count == 0 ? null : matches[^1].Value;
    }

    [GeneratedRegex(@"-?\$?\d[\d,]*(?:\.\d+)?")]
    private static partial Regex NumberPattern();
}
