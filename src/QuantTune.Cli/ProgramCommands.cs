using System.CommandLine;
using QuantTune.Cli.Commands;

namespace QuantTune.Cli;

/// <summary>The command tree of quanttune, with the option ranges applied.</summary>
public static class ProgramCommands
{
    public static RootCommand Create()
    {
        var root = new RootCommand("QuantTune: quantize, fine-tune and evaluate LLMs (Llama, Qwen2, Mistral) in .NET.")
        {
            InfoCommand.Create(),
            GenerateCommand.Create(),
            ChatCommand.Create(),
            ServeCommand.Create(),
            EvalCommand.Create(),
            QuantizeCommand.Create(),
            GptqCommand.Create(),
            QuantReportCommand.Create(),
            FinetuneCommand.Create(),
            AlignCommand.Create(),
            GrpoCommand.Create(),
            MergeCommand.Create(),
            PlanCommand.Create(),
            ExportCommand.Create(),
            PretrainCommand.Create(),
            DemoCommand.Create(),
        };
        OptionRules.Apply(root);
        return root;
    }
}
