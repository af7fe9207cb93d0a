namespace QuantTune.Tests.Runtime;

/// <summary>
/// The test assembly's entry point (GenerateProgramFile is off). Under the test runner it is never
/// called; <see cref="ChildProcess"/> starts the assembly as a program to run one piece of work in
/// a process of its own, so that a native crash fails one test, with its stack, instead of killing
/// the whole test run.
/// </summary>
public static class TestProcessEntry
{
    public static int Main(string[] args)
    {
        if (args.Length == 0) return 0;
        try
        {
            switch (args[0])
            {
                case GcPressureWork.Command:
                    GcPressureWork.Run(args[1..]);
                    return 0;
                case SideTuning.QstActivationMemoryWork.Command:
                    SideTuning.QstActivationMemoryWork.Run();
                    return 0;
                case Tokenization.ChatTemplates.TemplateRenderWork.Command:
                    return Tokenization.ChatTemplates.TemplateRenderWork.Run(args[1]);
                case Hub.HubDownloadWork.Command:
                    return Hub.HubDownloadWork.Run(args[1], args[2], args[3]);
                case "fail-fast":
                    // The harness's own test: a process that dies as a native crash does.
                    Environment.FailFast("fail-fast requested by the child-process harness test");
                    return 1;
                default:
                    Console.Error.WriteLine($"unknown child command '{args[0]}'");
                    return 2;
            }
        }
        catch (Exception e)
        {
            Console.Error.WriteLine(e);
            return 3;
        }
    }
}
