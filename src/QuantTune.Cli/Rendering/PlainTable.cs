using Spectre.Console;

namespace QuantTune.Cli.Rendering;

/// <summary>
/// A table that stays whole wherever it goes: Spectre's boxed table on a terminal, a Markdown
/// table when the output is piped or redirected (no wrapping that would split a number).
/// </summary>
public static class PlainTable
{
    public static void Write(IReadOnlyList<string> headers, IReadOnlyList<IReadOnlyList<string>> rows, TextWriter? redirected = null)
    {
        if (redirected is null && !Console.IsOutputRedirected)
        {
            var table = new Table().AddColumns(headers.Select(h => new TableColumn(Markup.Escape(h))).ToArray());
            foreach (var row in rows) table.AddRow(row.Select(Markup.Escape).ToArray());
            AnsiConsole.Write(table);
            return;
        }
        var w = redirected ?? Console.Out;
        w.WriteLine("| " + string.Join(" | ", headers) + " |");
        w.WriteLine("|" + string.Join("|", headers.Select(_ => "---")) + "|");
        foreach (var row in rows) w.WriteLine("| " + string.Join(" | ", row) + " |");
    }
}
