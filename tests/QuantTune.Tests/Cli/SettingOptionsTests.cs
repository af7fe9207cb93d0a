using System.CommandLine;
using System.Reflection;
using System.Text.RegularExpressions;
using QuantTune.Cli;
using QuantTune.Diagnostics;
using QuantTune.Fuzz;

namespace QuantTune.Tests.Cli;

/// <summary>
/// The CLI's table from library settings to its options: every row names a real setting and a real
/// option, every setting the library throws for is in it (or is a knob no option reaches), and an
/// error reads as the option the user typed.
/// </summary>
public sealed partial class SettingOptionsTests
{
    /// <summary>Settings the library checks that no option of the CLI sets, each with the reason.</summary>
    static readonly Dictionary<string, string> LibraryOnly = new()
    {
        ["BitPacker.PackedLength(bits)"] = "the CLI packs only codes of a scheme whose bits were checked first (IntegerScheme.Bits)",
        ["BitPacker.Pack(bits)"] = "as PackedLength",
        ["BitPacker.Unpack(bits)"] = "as PackedLength",
        ["GptqSettings.BlockSize"] = "the lazy batch is not an option",
        ["GptqSettings.Mode"] = "an enum the CLI sets from --sym/--asym",
        ["IntegerScheme.Mode"] = "an enum the CLI sets from --zero-point",
        ["PercentileCalibrator.Percentile"] = "the CLI's --clip-method uses the calibrators' defaults",
        ["MseCalibrator.Candidates"] = "as PercentileCalibrator.Percentile",
        ["MseCalibrator.MinRatio"] = "as PercentileCalibrator.Percentile",
        ["KlDivergenceCalibrator.Bins"] = "as PercentileCalibrator.Percentile",
        ["QstConfig.Activation"] = "the CLI keeps QST's default activation",
    };

    /// <summary>The first argument of <c>new InvalidSettingException(...)</c> where it is a plain literal.</summary>
    [GeneratedRegex(@"new\s+(?:QuantTune\.Diagnostics\.)?InvalidSettingException\(\s*""([^""{]+)""")]
    private static partial Regex ThrownSetting();

    /// <summary>Settings a library file names through a computed name: QstConfig's Fail(nameof(X)), BitPacker's CheckBits(bits, nameof(M)).</summary>
    [GeneratedRegex(@"Fail\(nameof\((\w+)\)|CheckBits\(bits, nameof\((\w+)\)\)")]
    private static partial Regex ComputedSetting();

    static IEnumerable<string> SettingsTheLibraryThrows()
    {
        string root = Path.Combine(RepositoryRoot.Find(), "src", "QuantTune");
        foreach (var file in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories))
        {
            string source = File.ReadAllText(file);
            foreach (Match m in ThrownSetting().Matches(source)) yield return m.Groups[1].Value;
            foreach (Match m in ComputedSetting().Matches(source))
                yield return m.Groups[1].Success ? $"QstConfig.{m.Groups[1].Value}" : $"BitPacker.{m.Groups[2].Value}(bits)";
        }
    }

    [Fact]
    public void EverySettingTheLibraryThrowsForMapsToAnOptionOrIsLibraryOnly()
    {
        var thrown = SettingsTheLibraryThrows().ToHashSet();
        Assert.Contains("IntegerScheme.Bits", thrown);
        Assert.Contains("QstConfig.Reduction", thrown);
        Assert.Contains("BitPacker.Unpack(bits)", thrown);
        var unmapped = thrown.Where(s => !SettingOptions.Table.ContainsKey(s) && !LibraryOnly.ContainsKey(s)).Order().ToList();
        Assert.True(unmapped.Count == 0, "settings with no option in SettingOptions.Table and not listed as library-only: " + string.Join(", ", unmapped));
        Assert.DoesNotContain(LibraryOnly.Keys, s => !thrown.Contains(s));
        Assert.DoesNotContain(LibraryOnly.Keys, SettingOptions.Table.ContainsKey);
    }

    [Fact]
    public void EveryRowNamesARealSettingAndARealOption()
    {
        var library = typeof(QuantTuneException).Assembly.GetExportedTypes();
        var options = new HashSet<string>();
        void Collect(Command c)
        {
            foreach (var o in c.Options) { options.Add(o.Name); foreach (var a in o.Aliases) options.Add(a); }
            foreach (var sub in c.Subcommands) Collect(sub);
        }
        Collect(ProgramCommands.Create());
        foreach (var (setting, option) in SettingOptions.Table)
        {
            Assert.True(options.Contains(option), $"{setting}: {option} is no option of any command");
            Assert.True(Resolves(library, setting), $"{setting}: no such public property or method parameter in QuantTune");
        }
    }

    /// <summary><c>Type.Property</c>, <c>Outer.Nested.Property</c> or <c>Type.Method(parameter)</c> in <paramref name="types"/>.</summary>
    static bool Resolves(Type[] types, string setting)
    {
        var m = Regex.Match(setting, @"^(?<type>[\w.]+)\.(?<member>\w+)(?:\((?<parameter>\w+)\))?$");
        if (!m.Success) return false;
        var typeName = m.Groups["type"].Value.Replace('.', '+');
        var type = types.FirstOrDefault(t => t.FullName is { } f && (f == typeName || f.EndsWith("." + typeName, StringComparison.Ordinal)));
        if (type is null) return false;
        string member = m.Groups["member"].Value;
        if (!m.Groups["parameter"].Success) return type.GetProperty(member, BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static) is not null;
        return type.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance)
            .Any(x => x.Name == member && x.GetParameters().Any(p => p.Name == m.Groups["parameter"].Value));
    }

    [Fact]
    public void AnErrorNamesTheOptionAndEverySettingInItsText()
    {
        var e = new InvalidSettingException("QatSpec.ActivationBits", 4, "QatSpec.Kind bitnet158 already quantizes activations; QatSpec.Kinds lists the kinds");
        Assert.Equal("QatSpec.ActivationBits = 4: QatSpec.Kind bitnet158 already quantizes activations; QatSpec.Kinds lists the kinds", e.Message);
        Assert.Equal("--qat-activations 4: --qat bitnet158 already quantizes activations; QatSpec.Kinds lists the kinds", SettingOptions.Describe(e));
        Assert.Equal("--qat-learnable-scales: needs --qat int4 or int8", SettingOptions.Describe(new InvalidSettingException("QatSpec.LearnableScales", null, "needs QatSpec.Kind int4 or int8")));
        Assert.Equal("--damp 0.5: x", SettingOptions.Describe(new InvalidSettingException("GptqSettings.Damp", 0.5, "x")));
        Assert.Equal("--scheme \"\": x", SettingOptions.Describe(new InvalidSettingException("SchemeOptions.Scheme", "", "x")));
        // A library-only setting keeps its name; a plain error has its settings rewritten.
        Assert.Equal("MseCalibrator.MinRatio = 2: x", SettingOptions.Describe(new InvalidSettingException("MseCalibrator.MinRatio", 2.0, "x")));
        Assert.Equal("the loss diverged. Lower --lr or --max-grad-norm.",
            SettingOptions.Describe(new QuantTuneException("the loss diverged. Lower TrainingOptions.LearningRate or TrainingOptions.MaxGradNorm.")));
    }

    [Fact]
    public void CommandsReportTheOptionTheUserTyped()
    {
        // A library check reached when the command runs (CliHost.Report), and one in an option's
        // validator (a usage error); the quantize, gptq, eval and finetune tests check theirs.
        var plan = CliRunner.Run("plan", "--model", "llama-3.1-8b", "--optimizer", "sgd");
        CliRunner.AssertCleanFailure(plan, "error: --optimizer sgd: expected one of adamw");
        var sideDtype = CliRunner.Run("plan", "--model", "llama-3.1-8b", "--side-dtype", "fp16");
        CliRunner.AssertUsageError(sideDtype, "--side-dtype fp16: expected fp32 or bf16");
        Assert.DoesNotContain("Request.", sideDtype.Stderr + plan.Stderr);
        Assert.DoesNotContain("QstConfig", sideDtype.Stderr);
    }
}
