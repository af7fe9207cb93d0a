using System.CommandLine;

namespace QuantTune.Cli;

/// <summary>
/// Validators for options that name a folder: a file given instead (a GGUF model or adapter
/// most often) is a usage error that says what the file is and what the command reads, before
/// any work starts.
/// </summary>
public static class PathKinds
{
    /// <summary>The option must name a folder, not a file; <paramref name="expected"/> says what the folder holds.</summary>
    public static T MustBeFolder<T>(this T option, string command, string expected) where T : Option
    {
        option.Validators.Add(result =>
        {
            var path = result.Tokens.Count > 0 ? result.Tokens[^1].Value : null;
            if (path is null || !File.Exists(path)) return;
            result.AddError(IsGguf(path)
                ? $"{option.Name} {path}: is a GGUF file; {command} reads {expected}. GGUF files work with generate, eval, info and finetune (--model) and generate/eval (--adapter)"
                : $"{option.Name} {path}: is a file; {command} reads {expected}");
        });
        return option;
    }

    /// <summary>
    /// The option names where an output is written (a folder, or a file when <paramref name="isFolder"/> is false):
    /// a path that cannot be written there is a usage error naming the option, before any work starts.
    /// </summary>
    public static T Writes<T>(this T option, bool isFolder) where T : Option
    {
        option.Validators.Add(result =>
        {
            var path = result.Tokens.Count > 0 ? result.Tokens[^1].Value : null;
            if (string.IsNullOrWhiteSpace(path)) return;
            if (QuantTune.IO.OutputFolder.Problem(path, isFolder) is { } problem) result.AddError($"{result.IdentifierToken?.Value ?? option.Name} {path}: {problem}");
        });
        return option;
    }

    /// <summary>Whether a file starts with GGUF's magic bytes.</summary>
    public static bool IsGguf(string path) => QuantTune.Formats.Gguf.GgufFile.StartsWithMagic(path);

    public const string CheckpointFolder = "a Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json)";
    public const string PeftAdapterFolder = "a PEFT adapter folder (adapter_config.json, adapter_model.safetensors)";
    public const string QstFolder = "a QST side-network folder (qst_config.json, side_model.safetensors)";
}
