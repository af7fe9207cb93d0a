using System.Text.RegularExpressions;
using QuantTune.Fuzz;

namespace QuantTune.Tests.Build;

/// <summary>
/// The library never names a command-line option: a library caller never typed <c>--bits</c>. Its
/// errors name the setting (<see cref="Diagnostics.InvalidSettingException"/>), and the CLI maps
/// settings to options (QuantTune.Cli.SettingOptions). This reads every string literal of
/// src/QuantTune (comments and doc comments aside) and fails on one that holds an option.
/// </summary>
public sealed partial class LibraryOptionNamesTests
{
    /// <summary>An option: two dashes and a letter, not inside a word (huggingface_hub's <c>models--org--name</c> is a folder name).</summary>
    [GeneratedRegex(@"(?<![\w-])--[a-z]")]
    private static partial Regex OptionName();

    /// <summary>Literals that hold two dashes and a letter without naming an option of ours, each with the reason.</summary>
    static readonly (string File, string Text, string Reason)[] Allowed = [];

    [Fact]
    public void NoLibraryStringLiteralNamesACommandLineOption()
    {
        string root = Path.Combine(RepositoryRoot.Find(), "src", "QuantTune");
        var found = new List<string>();
        foreach (var file in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (relative.StartsWith("obj/", StringComparison.Ordinal) || relative.StartsWith("bin/", StringComparison.Ordinal)) continue;
            foreach (var literal in CSharpStringLiterals.Of(File.ReadAllText(file)))
                if (OptionName().IsMatch(literal.Text) && !Allowed.Any(a => a.File == relative && literal.Text.Contains(a.Text, StringComparison.Ordinal)))
                    found.Add($"src/QuantTune/{relative}:{literal.Line}: \"{literal.Text.Replace('\u0000', '…')}\"");
        }
        Assert.True(found.Count == 0, $"{found.Count} library string(s) name a command-line option; name the setting instead " +
            "(InvalidSettingException, and a row in QuantTune.Cli's SettingOptions table):\n" + string.Join("\n", found));
    }

    [Fact]
    public void TheScanReadsLiteralsAndSkipsComments()
    {
        const string source = """
            // a comment naming --bits is fine
            /* so is --block here */
            /// <summary>and --damp in a doc comment</summary>
            class C
            {
                char q = '"';
                string a = "--seq {0}";
                string b = $"{string.Join(", ", x)}: pass --steps {n:N0} or {{--lr}}";
                string c = @"verbatim ""quoted"" --group";
                string d = $"{(x ? "--hole" : "y")} tail";
                string e = "models--org--name";
                string f = " --rank after an escape \" ";
            }
            """;
        var literals = CSharpStringLiterals.Of(source);
        var options = literals.Where(l => OptionName().IsMatch(l.Text)).Select(l => (l.Line, l.Text.Replace('\u0000', '…'))).ToList();
        Assert.Equal([
            (7, "--seq {0}"),
            (8, "…: pass --steps … or {--lr}"),
            (9, "verbatim \"quoted\" --group"),
            (10, "--hole"),
            (12, " --rank after an escape \\\" "),
        ], options);
        Assert.Contains(literals, l => l.Text == "models--org--name");
        Assert.DoesNotContain(literals, l => l.Text.Contains("--bits") || l.Text.Contains("--block") || l.Text.Contains("--damp"));
    }
}
