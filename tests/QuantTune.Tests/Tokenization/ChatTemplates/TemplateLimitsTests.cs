using QuantTune.Tests.Runtime;
using QuantTune.Tokenization.ChatTemplates;

namespace QuantTune.Tests.Tokenization.ChatTemplates;

/// <summary>
/// A chat template comes with a downloaded model: one that recurses, nests, loops or grows without end ends in a
/// <see cref="ChatTemplateException"/> naming the template and line, never a stack overflow (which would kill the
/// process), a hang or an exhausted memory. Values where jinja2 has an answer are jinja2 3.1.6's
/// (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks), noted beside each case.
/// </summary>
public sealed class TemplateLimitsTests() : TempFolderTest("qt-template-limits-")
{
    static string Render(string source, TemplateLimits? limits = null) =>
        ChatTemplate.Parse("hostile/tokenizer_config.json", source, limits).Render([new ChatMessage("user", "hi")], new ChatTemplateInputs());

    public static TheoryData<string, string> Hostile => new()
    {
        { "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "TemplateLimits.MaxDepth" },
        { "{{ " + new string('(', 20_000) + "1" + new string(')', 20_000) + " }}", "TemplateLimits.MaxDepth" },
        { "{{ " + string.Concat(Enumerable.Repeat("not ", 20_000)) + "1 }}", "TemplateLimits.MaxDepth" },
        { "{{ " + string.Concat(Enumerable.Repeat("- ", 20_000)) + "1 }}", "TemplateLimits.MaxDepth" },
        { string.Concat(Enumerable.Repeat("{% if true %}", 20_000)) + "x" + string.Concat(Enumerable.Repeat("{% endif %}", 20_000)), "TemplateLimits.MaxDepth" },
        { "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "TemplateLimits.MaxLoopIterations" },
        { "{{ range(100001) | length }}", "at most 100,000 items" }, // jinja2: OverflowError, MAX_RANGE
        { "{{ 'a' * 3000000000 }}", "TemplateLimits.MaxLength" },
        { "{{ [1, 2] * 3000000000 }}", "TemplateLimits.MaxLength" },
        { "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}", "TemplateLimits.MaxLength" },
        { "{{ ('x' * 10000000) | replace('x', 'yy') }}", "TemplateLimits.MaxLength" },
        { "{{ ('x' * 10000000).replace('x', 'yy') }}", "TemplateLimits.MaxLength" },
        { "{{ ['x' * 10000000, 'y' * 10000000] | join }}", "TemplateLimits.MaxLength" },
        { "{{ 'x' | indent(3000000000, true) }}", "TemplateLimits.MaxLength" },
        { "{% for i in range(20) %}{{ 'x' * 1000000 }}{% endfor %}", "the output" },
        { "{{ '%3000000000d' % 1 }}", "TemplateLimits.MaxLength" },
        { "{{ '%.3000000000f' % 1.5 }}", "TemplateLimits.MaxLength" },
        { "{{ '%-16000000s%-16000000s' % ('a', 'b') }}", "TemplateLimits.MaxLength" },
        { "{{ '%-16000000s%-16000000s' | format('a', 'b') }}", "TemplateLimits.MaxLength" },
        { "{{ '{:>3000000000}'.format('x') }}", "TemplateLimits.MaxLength" },
        { "{{ '{:.20000000f}'.format(1.5) }}", "TemplateLimits.MaxLength" },
        { "{{ '{:>16000000}{:>16000000}'.format('a', 'b') }}", "TemplateLimits.MaxLength" },
        { "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}", "TemplateLimits.MaxDepth" },
        { "{{ 9223372036854775807 + 1 }}", "integer overflow" }, // jinja2: 9223372036854775808 (a big integer)
        { "{{ -(-9223372036854775807 - 1) }}", "integer overflow" },
        { "{{ 3 ** 40 }}", "integer overflow" },
        { "{{ 4611686018427387904 * 2 }}", "integer overflow" },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void AHostileTemplateEndsInAnErrorNamingTheTemplate(string source, string limit)
    {
        var e = Assert.ThrowsAny<ChatTemplateException>(() => Render(source));
        Assert.StartsWith("chat template hostile/tokenizer_config.json, line 1: ", e.Message);
        Assert.Contains(limit, e.Message);
    }

    [Theory]
    [InlineData("{{ [1] | batch(0) | list }}", "[[], [1]]")] // jinja2's do_batch: an empty first batch
    [InlineData("{{ [1, 2, 3] | batch(-1) | list }}", "[[1, 2, 3]]")]
    [InlineData("{{ [1, 2, 3] | batch(2, 0) | list }}", "[[1, 2], [3, 0]]")]
    [InlineData("{{ 'ab' * 0 }}|{{ 'ab' * -2 }}|{{ [1] * 2 }}|{{ '' * 3000000000 }}", "||[1, 1]|")]
    [InlineData("{{ 2 ** 62 }}|{{ (-1) ** 65 }}|{{ 1 ** 1000 }}|{{ 0 ** 0 }}", "4611686018427387904|-1|1|1")]
    [InlineData("{{ 9223372036854775806 + 1 }}|{{ -9223372036854775807 - 1 }}", "9223372036854775807|-9223372036854775808")]
    [InlineData("{{ 'x' | indent(-3, true) }}", "x")]
    [InlineData("{{ range(100000) | length }}", "100000")]
    [InlineData("{{ 'abc' | truncate(3000000000) }}|{{ ('%.0f' % 1e300) | length }}|{{ '{:.1100f}'.format(5e-324) | length }}", "abc|301|1102")]
    public void WithinTheLimitsTheResultIsJinja2s(string source, string expected) => Assert.Equal(expected, Render(source));

    [Fact]
    public void TheLimitsCanBeSetPerTemplate()
    {
        const string source = "{% for i in range(11) %}{{ i }}{% endfor %}";
        Assert.Equal("012345678910", Render(source));
        var e = Assert.ThrowsAny<ChatTemplateException>(() => Render(source, new TemplateLimits { MaxLoopIterations = 10 }));
        Assert.Contains("over 10 iterations", e.Message);
        Assert.ThrowsAny<ChatTemplateException>(() => Render("{{ 'abc' * 2 }}", new TemplateLimits { MaxLength = 5 }));
        Assert.ThrowsAny<ChatTemplateException>(() => Render("{{ ((1)) }}", new TemplateLimits { MaxDepth = 3 }));
    }

    [Fact]
    public void ABudgetIsSpentPerRenderNotPerTemplate()
    {
        var template = ChatTemplate.Parse("t", "{% for i in range(6) %}.{% endfor %}", new TemplateLimits { MaxLoopIterations = 10 });
        for (int i = 0; i < 3; i++) Assert.Equal("......", template.Render([new ChatMessage("user", "hi")], new ChatTemplateInputs()));
    }

    [Theory]
    [InlineData("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")]
    [InlineData("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")]
    public void TheProcessSurvivesAndSaysWhy(string source)
    {
        // A stack overflow cannot be caught in .NET: only a separate process shows that none happens.
        var file = Path.Combine(Dir, "template.jinja");
        File.WriteAllText(file, source);
        var result = ChildProcess.Run(Dir, TimeSpan.FromMinutes(2), TemplateRenderWork.Command, file);
        Assert.True(result.ExitCode == 1, result.Describe());
        Assert.Contains("chat template " + file + ", line 1:", result.Output);
    }
}
