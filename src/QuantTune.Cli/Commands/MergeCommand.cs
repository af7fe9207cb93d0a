using System.CommandLine;
using QuantTune.Models.Loading;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using Spectre.Console;

namespace QuantTune.Cli.Commands;

public static class MergeCommand
{
    public static Command Create()
    {
        var model = Options.Model();
        var adapter = new Option<string>("--adapter", "-a") { Description = "LoRA/DoRA adapter folder (PEFT format)", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "folder for the merged checkpoint", Required = true };
        var cmd = new Command("merge", "Merge a LoRA adapter into the base weights and write a plain checkpoint.") { model, adapter, output };
        cmd.SetAction(r =>
        {
            IO.OutputFolder.RefuseSource(r.GetValue(output)!, r.GetValue(model)!, "--out");
            using var pm = PretrainedModel.Load(r.GetValue(model)!);
            AdapterIO.Load(pm.Model, r.GetValue(adapter)!);
            var merged = LoraModel.Merge(pm.Model);
            PlainCheckpoint.SaveCheckpoint(pm.Model, r.GetValue(model)!, r.GetValue(output)!);
            AnsiConsole.MarkupLine($"merged {merged.Count} LoRA layers into {Markup.Escape(r.GetValue(output)!)}");
            return 0;
        });
        return cmd;
    }
}
