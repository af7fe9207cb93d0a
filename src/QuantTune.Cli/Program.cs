using QuantTune.Cli;

return CliHost.Run(ProgramCommands.Create(), args);
