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
        var model = Options.Model().MustBeFolder("merge", PathKinds.CheckpointFolder);
        var adapter = new Option<string>("--adapter", "-a") { Description = "LoRA/DoRA adapter folder (PEFT format)", Required = true }.MustBeFolder("merge", PathKinds.PeftAdapterFolder);
        var output = new Option<string>("--out", "-o") { Description = "folder for the merged checkpoint", Required = true }.Writes(isFolder: true);
        var cmd = new Command("merge", "Merge a LoRA adapter into the base weights and write a plain checkpoint.") { model, adapter, output };
        cmd.SetAction(r =>
        {
            IO.OutputFolder.RefuseSource(r.GetValue(output)!, r.GetValue(model)!, "--out");
            if (File.Exists(Path.Combine(r.GetValue(adapter)!, "qst_config.json")))
                throw new Diagnostics.QuantTuneException($"--adapter {r.GetValue(adapter)}: is a QST side network. A side network runs beside the frozen backbone and reads its hidden states, " +
                    "so it has no weights to merge into the model; use it as it is with --qst (generate, eval)");
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
