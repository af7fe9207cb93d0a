using System.CommandLine;
using QuantTune.Cli.Rendering;
using QuantTune.Formats.Gguf;
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

    /// <summary>A GGUF file's metadata (arrays summarised, general.file_type named), tensor table and tensor types.</summary>
    static int GgufInfo(string path, bool json)
    {
        using var file = GgufFile.Open(path);
        // info shows whatever the file holds: a general.file_type that is not an integer is shown as it is, unnamed.
        string? fileType = file.Metadata.TryGetValue("general.file_type", out var ft) && ft.Value is byte or sbyte or ushort or short or uint or int or long
            ? LlamaFileTypes.NameOf(ft.AsInt64()) : null;
        string Show(string key, GgufValue v) => v.Value is Array a ? $"[{a.Length} × {v.ElementType}]"
            : (Convert.ToString(v.Value, System.Globalization.CultureInfo.InvariantCulture) ?? "") + (key == "general.file_type" && fileType is not null ? $" ({fileType})" : "");
        var types = file.Tensors.GroupBy(t => t.Type).OrderByDescending(g => g.Count()).ToDictionary(g => g.Key.ToString(), g => g.Count());
        if (json)
        {
            JsonOutput.Write(new
            {
                path, version = file.Version, alignment = file.Alignment, file_type = fileType,
                metadata = file.Metadata.ToDictionary(kv => kv.Key, kv => Show(kv.Key, kv.Value)),
                tensor_types = types,
                tensors = file.Tensors.Select(t => new { name = t.Name, type = t.Type.ToString(), shape = t.Shape, bytes = t.ByteLength }),
            });
            return 0;
        }
        var meta = new Table().AddColumns("key", "value");
        foreach (var (k, v) in file.Metadata.OrderBy(kv => kv.Key)) meta.AddRow(Markup.Escape(k), Markup.Escape(Show(k, v)));
        AnsiConsole.Write(meta);
        var tensors = new Table().AddColumns("tensor", "type", "shape", "bytes");
        foreach (var t in file.Tensors) tensors.AddRow(t.Name, t.Type.ToString(), string.Join(" × ", t.Shape), ModelSummaryView.Bytes(t.ByteLength));
        AnsiConsole.Write(tensors);
        AnsiConsole.MarkupLine($"{file.Tensors.Count} tensors: {string.Join(", ", types.Select(t => $"{t.Value} × {t.Key}"))}" + (fileType is null ? "" : $"; file type {fileType}"));
        return 0;
    }
}
