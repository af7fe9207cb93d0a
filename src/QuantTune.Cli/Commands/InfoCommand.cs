using System.CommandLine;
using QuantTune.Cli.Rendering;
using QuantTune.Models.Loading;
using Spectre.Console;

namespace QuantTune.Cli.Commands;

public static class InfoCommand
{
    public static Command Create()
    {
        var model = Options.Model();
        var json = Options.Json();
        var cmd = new Command("info", "Show a checkpoint's architecture, parameter count, dtypes and bytes (reads headers only).") { model, json };
        cmd.SetAction(r =>
        {
            if (r.GetValue(model)!.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)) return GgufInfo(r.GetValue(model)!, r.GetValue(json));
            var summary = ModelInspector.Inspect(r.GetValue(model)!);
            if (r.GetValue(json)) JsonOutput.Write(ModelSummaryView.ToJson(summary));
            else ModelSummaryView.Render(summary);
            return 0;
        });
        return cmd;
    }

    /// <summary>A GGUF file's metadata (arrays summarised) and tensor table.</summary>
    static int GgufInfo(string path, bool json)
    {
        using var file = QuantTune.Formats.Gguf.GgufFile.Open(path);
        string Show(QuantTune.Formats.Gguf.GgufValue v) => v.Value is Array a ? $"[{a.Length} × {v.ElementType}]" : Convert.ToString(v.Value, System.Globalization.CultureInfo.InvariantCulture) ?? "";
        if (json)
        {
            JsonOutput.Write(new
            {
                path, version = file.Version, alignment = file.Alignment,
                metadata = file.Metadata.ToDictionary(kv => kv.Key, kv => Show(kv.Value)),
                tensors = file.Tensors.Select(t => new { name = t.Name, type = t.Type.ToString(), shape = t.Shape }),
            });
            return 0;
        }
        var meta = new Spectre.Console.Table().AddColumns("key", "value");
        foreach (var (k, v) in file.Metadata.OrderBy(kv => kv.Key)) meta.AddRow(Spectre.Console.Markup.Escape(k), Spectre.Console.Markup.Escape(Show(v)));
        Spectre.Console.AnsiConsole.Write(meta);
        var tensors = new Spectre.Console.Table().AddColumns("tensor", "type", "shape");
        foreach (var t in file.Tensors) tensors.AddRow(t.Name, t.Type.ToString(), string.Join(" × ", t.Shape));
        Spectre.Console.AnsiConsole.Write(tensors);
        return 0;
    }
}
