using System.CommandLine;
using QuantTune.Cli;
using QuantTune.Cli.Commands;

var root = new RootCommand("QuantTune: quantize, fine-tune and evaluate LLMs (Llama, Qwen2, Mistral) in .NET.")
{
    InfoCommand.Create(),
    GenerateCommand.Create(),
    EvalCommand.Create(),
    QuantizeCommand.Create(),
    GptqCommand.Create(),
    QuantReportCommand.Create(),
    FinetuneCommand.Create(),
    MergeCommand.Create(),
    PlanCommand.Create(),
    ExportCommand.Create(),
    PretrainCommand.Create(),
    DemoCommand.Create(),
};
return CliHost.Run(root, args);
