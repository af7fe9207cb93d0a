using System.Text.RegularExpressions;
using QuantTune.Fuzz;

namespace QuantTune.Tests.Build;

/// <summary>
/// The library's top-level namespaces (QuantTune.Formats, QuantTune.Models, ...) as a graph, read from the sources:
/// an area depends on another when a file of it names the other (a using directive or a qualified name). The
/// dependencies should run one way (docs/architecture.md draws the layers); the cycles that remain are listed here,
/// so that a change adding a cycle, or growing one, fails, and a change removing one updates the list.
/// </summary>
public sealed partial class NamespaceGraphTests
{
    /// <summary>The strongly connected areas that remain (each is a cycle to break), sorted.</summary>
    static readonly string[][] KnownCycles =
    [
        ["Evaluation", "Formats", "Hub", "Models", "Peft", "Qat", "Quantization", "Tokenization"],
        ["SideTuning", "Training"],
    ];

    [GeneratedRegex(@"^namespace\s+QuantTune\.([A-Za-z]+)", RegexOptions.Multiline)]
    private static partial Regex NamespaceOf();

    [GeneratedRegex(@"(?<![\w.])(?:QuantTune\.)?([A-Z][A-Za-z]+)\.[A-Z]")]
    private static partial Regex QualifiedName();

    [GeneratedRegex(@"^using\s+(?:static\s+)?QuantTune\.([A-Za-z]+)", RegexOptions.Multiline)]
    private static partial Regex UsingDirective();

    static Dictionary<string, HashSet<string>> Graph()
    {
        var files = Directory.EnumerateFiles(Path.Combine(RepositoryRoot.Find(), "src", "QuantTune"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Select(f => File.ReadAllText(f)).ToList();
        var areas = files.Select(s => NamespaceOf().Match(s)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToHashSet();
        var graph = areas.ToDictionary(a => a, _ => new HashSet<string>());
        foreach (var source in files)
        {
            if (NamespaceOf().Match(source) is not { Success: true } own) continue;
            var code = string.Join('\n', source.Split('\n').Where(l => !l.TrimStart().StartsWith("//", StringComparison.Ordinal)));
            foreach (var used in UsingDirective().Matches(code).Concat(QualifiedName().Matches(code)).Select(m => m.Groups[1].Value))
                if (used != own.Groups[1].Value && areas.Contains(used)) graph[own.Groups[1].Value].Add(used);
        }
        return graph;
    }

    /// <summary>Tarjan's strongly connected components of more than one area.</summary>
    static List<string[]> Cycles(Dictionary<string, HashSet<string>> graph)
    {
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var cycles = new List<string[]>();
        void Visit(string v)
        {
            index[v] = low[v] = index.Count;
            stack.Push(v);
            foreach (var w in graph[v])
            {
                if (!index.ContainsKey(w)) { Visit(w); low[v] = Math.Min(low[v], low[w]); }
                else if (stack.Contains(w)) low[v] = Math.Min(low[v], index[w]);
            }
            if (low[v] != index[v]) return;
            var component = new List<string>();
            string x;
            do { x = stack.Pop(); component.Add(x); } while (x != v);
            if (component.Count > 1) cycles.Add([.. component.Order(StringComparer.Ordinal)]);
        }
        foreach (var v in graph.Keys.Order(StringComparer.Ordinal)) if (!index.ContainsKey(v)) Visit(v);
        return [.. cycles.OrderBy(c => c[0], StringComparer.Ordinal)];
    }

    [Fact]
    public void NoNamespaceCycleBeyondTheKnownOnes()
    {
        var cycles = Cycles(Graph());
        Assert.Equal(KnownCycles.Select(c => string.Join(" ↔ ", c)), cycles.Select(c => string.Join(" ↔ ", c)));
    }

    [Fact]
    public void TheLowestLayersDependOnNothingAbove()
    {
        var graph = Graph();
        Assert.Empty(graph["Diagnostics"]);
        Assert.Equal(["Diagnostics"], graph["IO"].Order());
        Assert.Equal(["Diagnostics"], graph["Runtime"].Order());
        // Serving (the model in an application) is the top of the library: nothing below it names it.
        Assert.DoesNotContain(graph, kv => kv.Key != "Serving" && kv.Value.Contains("Serving"));
    }

    [Fact]
    public void TheReaderSeesADependency()
    {
        // The graph is read from sources: a known edge must be there, or the test above would pass on an empty graph.
        var graph = Graph();
        Assert.Contains("Models", graph["Training"]);
        Assert.Contains("Generation", graph["Serving"]);
    }
}
