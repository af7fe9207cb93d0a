using System.CommandLine;
using QuantTune.Cli.Rendering;
using QuantTune.Models.Loading;

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
            var summary = ModelInspector.Inspect(r.GetValue(model)!);
            if (r.GetValue(json)) JsonOutput.Write(ModelSummaryView.ToJson(summary));
            else ModelSummaryView.Render(summary);
            return 0;
        });
        return cmd;
    }
}
