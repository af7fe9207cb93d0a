using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using static TorchSharp.torch;

namespace QuantTune.Models.Loading;

/// <summary>
/// Copies checkpoint tensors into a module's parameters by name, converting dtype on the way.
/// Every parameter must be present with the same shape; checkpoint keys the module does not
/// have are returned (rotary caches of old checkpoints, for example) so a caller can report them.
/// </summary>
public static class WeightLoader
{
    public static IReadOnlyList<string> Load(nn.Module module, SafetensorsCheckpoint checkpoint, IProgress<(int Done, int Total)>? progress = null)
    {
        var parameters = module.named_parameters().ToList();
        var missing = parameters.Select(p => p.name).Where(n => !checkpoint.Contains(n)).ToList();
        var config = Path.Combine(checkpoint.Directory, "config.json");
        if (missing.Count > 0)
            throw new InvalidFormatException(config, null, $"describes {missing.Count} weight(s) that the checkpoint's {string.Join(", ", checkpoint.Files.Select(f => f.Path))} lack(s), e.g. '{missing[0]}'" +
                (missing.Count > 1 ? $" and '{missing[^1]}'" : "") + "; is config.json for this checkpoint?");
        using var _ = no_grad();
        int done = 0;
        foreach (var (name, parameter) in parameters)
        {
            var info = checkpoint.Info(name);
            if (!info.Shape.SequenceEqual(parameter.shape))
                throw new InvalidFormatException(checkpoint.PathOf(name), name, $"has shape [{string.Join(", ", info.Shape)}]; the model built from {config} expects [{string.Join(", ", parameter.shape)}]");
            checkpoint.Load(name, parameter);
            progress?.Report((++done, parameters.Count));
        }
        var known = parameters.Select(p => p.name).ToHashSet();
        return checkpoint.Names.Where(n => !known.Contains(n)).Order(StringComparer.Ordinal).ToList();
    }
}
