namespace QuantTune.IO;

/// <summary>
/// For tests of a kill at each step of publishing an output: when <c>QUANTTUNE_KILL_AT</c>
/// names a step ("written", "old-moved", "new-moved" for folders; "file-written", "file-moved"
/// for files) the process kills itself right after that step, and when
/// <c>QUANTTUNE_KILL_TARGET</c> is set, only while publishing the output of that name
/// (for example "adapter" or "model.gguf").
/// </summary>
public static class KillHook
{
    public const string StepVariable = "QUANTTUNE_KILL_AT";
    public const string TargetVariable = "QUANTTUNE_KILL_TARGET";

    public static void At(string step, string target)
    {
        if (Environment.GetEnvironmentVariable(StepVariable) != step) return;
        var only = Environment.GetEnvironmentVariable(TargetVariable);
        if (!string.IsNullOrEmpty(only) && only != Path.GetFileName(target)) return;
        System.Diagnostics.Process.GetCurrentProcess().Kill();
    }
}
