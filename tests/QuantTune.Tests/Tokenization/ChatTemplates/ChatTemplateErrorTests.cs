using QuantTune.Tokenization.ChatTemplates;

namespace QuantTune.Tests.Tokenization.ChatTemplates;

/// <summary>Templates the renderer cannot handle fail with the template's name and the line at fault.</summary>
public class ChatTemplateErrorTests
{
    [Theory]
    [InlineData("{{ bos_token }}\n{% for m in messages %}\n{% include 'other.jinja' %}\n{% endfor %}", 3, "the statement 'include' is not supported")]
    [InlineData("{% if messages %}\nx\n{% for m in messages %}\n{% endif %}", 4, "unexpected '{% endif %}' where '{% endfor %}' or '{% else %}' was expected")]
    [InlineData("line one\n{{ messages | wordwrap(10) }}", 2, "the filter 'wordwrap' is not supported")]
    [InlineData("a\nb\n{{ messages[0] is palindrome }}", 3, "the test 'palindrome' is not supported")]
    [InlineData("{{ 'unclosed }}", 1, "a string literal that is never closed")]
    [InlineData("{% for m in messages %}\n  {{ m.role + 1 }}\n{% endfor %}", 2, "unsupported operand types for +")]
    [InlineData("\n\n{{ raise_exception('only user turns') }}", 3, "the template raised an exception: only user turns")]
    public void Error_names_the_template_and_line(string source, int line, string problem)
    {
        var thrown = Assert.ThrowsAny<ChatTemplateException>(() =>
            ChatTemplate.Parse("my/tokenizer_config.json", source).Render([new ChatMessage("user", "hi")], new ChatTemplateInputs()));
        Assert.Equal(line, thrown.Line);
        Assert.StartsWith($"chat template my/tokenizer_config.json, line {line}: ", thrown.Message);
        Assert.Contains(problem, thrown.Message);
    }
}
