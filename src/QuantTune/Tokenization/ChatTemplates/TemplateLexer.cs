using System.Globalization;
using System.Text;

namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>
/// Splits a chat template into text, <c>{% %}</c>, <c>{{ }}</c> and the tokens inside them,
/// after <see cref="TemplateWhitespace"/>; <c>{%-</c>/<c>-%}</c> (and the same on <c>{{ }}</c>
/// and <c>{# #}</c>) strip the whitespace on that side. Comments are dropped.
/// </summary>
internal sealed class TemplateLexer
{
    private static readonly string[] Operators =
    [
        "**", "//", "==", "!=", "<=", ">=",
        "(", ")", "[", "]", "{", "}", ",", ".", ":", "|", "<", ">", "+", "-", "~", "*", "/", "%", "=",
    ];

    private readonly string _name;
    private readonly string _src;
    private readonly int[] _lines;
    private readonly List<TemplateToken> _tokens = [];
    private int _pos;

    private TemplateLexer(string name, string source)
    {
        _name = name;
        (_src, _lines) = TemplateWhitespace.Apply(source);
    }

    public static List<TemplateToken> Tokenize(string name, string source)
    {
        var lexer = new TemplateLexer(name, source);
        lexer.Run();
        return lexer._tokens;
    }

    private int LineAt(int pos) => _lines.Length == 0 ? 1 : _lines[Math.Min(pos, _lines.Length - 1)];

    private ChatTemplateException Error(int pos, string problem) => new(_name, LineAt(pos), problem);

    private bool At(string s) => string.CompareOrdinal(_src, _pos, s, 0, s.Length) == 0;

    private void Run()
    {
        bool stripNextText = false;
        while (_pos < _src.Length)
        {
            int start = _pos;
            while (_pos < _src.Length && !(_src[_pos] == '{' && _pos + 1 < _src.Length && _src[_pos + 1] is '%' or '{' or '#'))
            {
                _pos++;
            }
            if (_pos > start)
            {
                string text = _src[start.._pos];
                int textStart = start;
                if (stripNextText)
                {
                    int trimmed = text.Length - text.TrimStart().Length;
                    text = text[trimmed..];
                    textStart += trimmed;
                }
                if (text.Length > 0) _tokens.Add(new TemplateToken(TemplateTokenKind.Text, text, LineAt(textStart)));
            }
            stripNextText = false;
            if (_pos >= _src.Length) break;

            if (_src[_pos + 1] == '%' && TemplateWhitespace.RawOpen.Match(_src, _pos) is { Success: true } raw)
            {
                stripNextText = LexRaw(raw);
                continue;
            }

            char kind = _src[_pos + 1];
            int open = _pos;
            _pos += 2;
            bool stripBefore = _pos < _src.Length && _src[_pos] == '-';
            if (stripBefore || (_pos < _src.Length && _src[_pos] == '+')) _pos++;
            if (stripBefore) StripTrailingWhitespace();

            if (kind == '#')
            {
                int close = _src.IndexOf("#}", _pos, StringComparison.Ordinal);
                if (close < 0) throw Error(open, "a comment '{#' that is never closed with '#}'");
                stripNextText = close > _pos && _src[close - 1] == '-';
                _pos = close + 2;
                continue;
            }

            bool statement = kind == '%';
            _tokens.Add(new TemplateToken(statement ? TemplateTokenKind.OpenStatement : TemplateTokenKind.OpenExpression,
                statement ? "{%" : "{{", LineAt(open)));
            stripNextText = LexInside(statement, open);
        }
    }

    /// <summary><c>{% raw %}text{% endraw %}</c>: the text as written, one text token; true when it ended with <c>-%}</c>.</summary>
    private bool LexRaw(System.Text.RegularExpressions.Match open)
    {
        var close = TemplateWhitespace.RawClose.Match(_src, open.Index + open.Length);
        if (!close.Success) throw Error(open.Index, "a '{% raw %}' that is never closed with '{% endraw %}'");
        if (open.Groups[1].Value == "-") StripTrailingWhitespace();
        int start = open.Index + open.Length;
        string text = _src[start..close.Index];
        if (open.Groups[2].Value == "-") text = text.TrimStart();
        if (close.Groups[1].Value == "-") text = text.TrimEnd();
        if (text.Length > 0) _tokens.Add(new TemplateToken(TemplateTokenKind.Text, text, LineAt(start)));
        _pos = close.Index + close.Length;
        return close.Groups[2].Value == "-";
    }

    private void StripTrailingWhitespace()
    {
        if (_tokens.Count > 0 && _tokens[^1].Kind == TemplateTokenKind.Text)
        {
            string trimmed = _tokens[^1].Value.TrimEnd();
            if (trimmed.Length == 0) _tokens.RemoveAt(_tokens.Count - 1);
            else _tokens[^1] = _tokens[^1] with { Value = trimmed };
        }
    }

    /// <summary>Tokens up to the closing <c>%}</c> or <c>}}</c>; true when it was <c>-%}</c>/<c>-}}</c>.</summary>
    private bool LexInside(bool statement, int open)
    {
        string close = statement ? "%}" : "}}";
        int braces = 0;
        while (true)
        {
            while (_pos < _src.Length && char.IsWhiteSpace(_src[_pos])) _pos++;
            if (_pos >= _src.Length)
            {
                throw Error(open, $"'{(statement ? "{%" : "{{")}' that is never closed with '{close}'");
            }
            if (braces == 0 && (At("-" + close) || At("+" + close)))
            {
                bool strip = _src[_pos] == '-';
                _tokens.Add(new TemplateToken(statement ? TemplateTokenKind.CloseStatement : TemplateTokenKind.CloseExpression, close, LineAt(_pos)));
                _pos += 3;
                return strip;
            }
            if (braces == 0 && At(close))
            {
                _tokens.Add(new TemplateToken(statement ? TemplateTokenKind.CloseStatement : TemplateTokenKind.CloseExpression, close, LineAt(_pos)));
                _pos += 2;
                return false;
            }

            char c = _src[_pos];
            int line = LineAt(_pos);
            if (c is '\'' or '"')
            {
                _tokens.Add(new TemplateToken(TemplateTokenKind.String, ReadString(c), line));
                continue;
            }
            if (char.IsAsciiDigit(c))
            {
                int start = _pos;
                while (_pos < _src.Length && (char.IsAsciiDigit(_src[_pos]) || _src[_pos] == '_')) _pos++;
                bool isFloat = false;
                bool afterDot = _tokens.Count > 0 && _tokens[^1].Is(TemplateTokenKind.Operator, ".");
                if (!afterDot && _pos + 1 < _src.Length && _src[_pos] == '.' && char.IsAsciiDigit(_src[_pos + 1]))
                {
                    isFloat = true;
                    _pos++;
                    while (_pos < _src.Length && char.IsAsciiDigit(_src[_pos])) _pos++;
                }
                if (!afterDot && _pos < _src.Length && _src[_pos] is 'e' or 'E')
                {
                    int save = _pos++;
                    if (_pos < _src.Length && _src[_pos] is '+' or '-') _pos++;
                    if (_pos < _src.Length && char.IsAsciiDigit(_src[_pos]))
                    {
                        isFloat = true;
                        while (_pos < _src.Length && char.IsAsciiDigit(_src[_pos])) _pos++;
                    }
                    else _pos = save;
                }
                string number = _src[start.._pos].Replace("_", "");
                _tokens.Add(new TemplateToken(isFloat ? TemplateTokenKind.Float : TemplateTokenKind.Integer, number, line));
                continue;
            }
            if (char.IsAsciiLetter(c) || c == '_')
            {
                int start = _pos;
                while (_pos < _src.Length && (char.IsAsciiLetterOrDigit(_src[_pos]) || _src[_pos] == '_')) _pos++;
                _tokens.Add(new TemplateToken(TemplateTokenKind.Name, _src[start.._pos], line));
                continue;
            }
            string? op = Operators.FirstOrDefault(At);
            if (op is null) throw Error(_pos, $"unexpected character '{c}'");
            if (op == "{") braces++;
            if (op == "}") braces--;
            _tokens.Add(new TemplateToken(TemplateTokenKind.Operator, op, line));
            _pos += op.Length;
        }
    }

    private string ReadString(char quote)
    {
        int open = _pos++;
        var text = new StringBuilder();
        while (true)
        {
            if (_pos >= _src.Length) throw Error(open, "a string literal that is never closed");
            char c = _src[_pos++];
            if (c == quote) return text.ToString();
            if (c != '\\')
            {
                text.Append(c);
                continue;
            }
            if (_pos >= _src.Length) throw Error(open, "a string literal that is never closed");
            char e = _src[_pos++];
            switch (e)
            {
                case 'n': text.Append('\n'); break;
                case 't': text.Append('\t'); break;
                case 'r': text.Append('\r'); break;
                case 'b': text.Append('\b'); break;
                case 'f': text.Append('\f'); break;
                case 'v': text.Append('\v'); break;
                case '0': text.Append('\0'); break;
                case '\'': text.Append('\''); break;
                case '"': text.Append('"'); break;
                case '\\': text.Append('\\'); break;
                case '\n': break;
                case 'x' or 'u' or 'U':
                    int length = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    if (_pos + length > _src.Length || !int.TryParse(_src.AsSpan(_pos, length), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int code))
                    {
                        throw Error(_pos, $"an invalid escape '\\{e}' in a string literal");
                    }
                    text.Append(char.ConvertFromUtf32(code));
                    _pos += length;
                    break;
                default:
                    // Python keeps an unknown escape as written.
                    text.Append('\\').Append(e);
                    break;
            }
        }
    }
}
