using System.Text;

namespace QuantTune.Tests.Formats.Ollama;

/// <summary>
/// ollama's Modelfile parser (parser/parser.go ParseFile and parseRuneForState, github.com/ollama/ollama),
/// ported for FROM, TEMPLATE, SYSTEM, PARAMETER and comments: a value ends at a newline where what was
/// read so far, trimmed, unquotes (<c>"""…"""</c> or <c>"…"</c>). Returns the commands in order as
/// (name, args), FROM named "model" and a parameter by its own name, as ollama names them.
/// </summary>
internal static class ModelfileParser
{
    enum State { Nil, Name, Value, Parameter, Comment }

    public static List<(string Name, string Args)> Parse(string text)
    {
        var commands = new List<(string, string)>();
        var state = State.Nil;
        var buffer = new StringBuilder();
        string name = "";
        foreach (char c in text)
        {
            var (next, keep) = Step(c, state);
            if (next != state)
            {
                switch (state)
                {
                    case State.Name:
                        var s = buffer.ToString().ToLowerInvariant();
                        if (s is not ("from" or "template" or "system" or "parameter")) throw new FormatException($"invalid command '{s}'");
                        if (s == "parameter") next = State.Parameter;
                        else name = s == "from" ? "model" : s;
                        break;
                    case State.Parameter:
                        name = buffer.ToString();
                        break;
                    case State.Value:
                        if (Unquote(buffer.ToString().Trim()) is not { } value || c == ' ' || c == '\t')
                        {
                            buffer.Append(c);
                            continue;
                        }
                        commands.Add((name, value));
                        break;
                }
                buffer.Clear();
                state = next;
            }
            if (keep && !char.IsControl(c)) buffer.Append(c);
        }
        if (state == State.Value) commands.Add((name, Unquote(buffer.ToString().Trim()) ?? throw new FormatException("unexpected end of file")));
        else if (state is not (State.Nil or State.Comment)) throw new FormatException("unexpected end of file");
        return commands;
    }

    static (State Next, bool Keep) Step(char c, State state) => state switch
    {
        State.Nil => c == '#' ? (State.Comment, false) : c is ' ' or '\t' or '\r' or '\n' ? (State.Nil, false) : (State.Name, true),
        State.Name => char.IsAsciiLetter(c) ? (State.Name, true) : c is ' ' or '\t' ? (State.Value, false) : throw new FormatException("invalid command"),
        State.Value => c is '\r' or '\n' or ' ' or '\t' ? (State.Nil, true) : (State.Value, true),
        State.Parameter => char.IsAsciiLetterOrDigit(c) || c == '_' ? (State.Parameter, true) : c is ' ' or '\t' ? (State.Value, false) : throw new FormatException("bad parameter"),
        State.Comment => c is '\r' or '\n' ? (State.Nil, false) : (State.Comment, false),
        _ => throw new InvalidOperationException(),
    };

    static string? Unquote(string s)
    {
        if (s.StartsWith("\"\"\"", StringComparison.Ordinal)) return s.Length >= 6 && s.EndsWith("\"\"\"", StringComparison.Ordinal) ? s[3..^3] : null;
        if (s.StartsWith('"')) return s.Length >= 2 && s.EndsWith('"') ? s[1..^1] : null;
        return s;
    }
}
