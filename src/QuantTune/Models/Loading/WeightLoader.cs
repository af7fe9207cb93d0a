using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.Models.Config;
using static TorchSharp.torch;

namespace QuantTune.Models.Loading;

/// <summary>
/// Copies checkpoint tensors into a module's parameters by name, converting dtype on the way (and
/// the layout, where the family stores it otherwise: <see cref="CheckpointLayout"/>; experts in
/// transformers 5's fused tensors: <see cref="FusedExperts"/>; gpt-oss's interleaved or MXFP4 ones: <see cref="InterleavedExperts"/>).
/// Every parameter must be present with the same shape; checkpoint keys the module does not
/// have are returned (rotary caches of old checkpoints, for example) so a caller can report them.
/// </summary>
public static class WeightLoader
{
    /// <param name="prefix">The module's path in the model (with a trailing dot) when it is a part of the model, e.g. one layer loaded on its own.</param>
    public static IReadOnlyList<string> Load(nn.Module module, SafetensorsCheckpoint checkpoint, IProgress<(int Done, int Total)>? progress = null, ModelConfig? config = null,
        string prefix = "")
    {
        var parameters = module.named_parameters().Select(p => (name: prefix + p.name, p.parameter)).ToList();
        string Key(string name) => config is null ? name : CheckpointLayout.KeyOf(config, checkpoint, name);
        // An expert's weight the checkpoint keeps in transformers 5's fused tensors (FusedExperts): read from its rows there.
        FusedExperts.Slice? Fused(string key) => config is null || checkpoint.Contains(key) ? null : FusedExperts.Of(config, checkpoint, key);
        // An expert's weight or bias the checkpoint keeps in gpt-oss's interleaved (or MXFP4) tensors (InterleavedExperts): read from there.
        InterleavedExperts.Source? Interleaved(string key) => config is null ? null : InterleavedExperts.Of(config, checkpoint, key);
        var missing = parameters.Select(p => p.name).Where(n => !checkpoint.Contains(Key(n)) && Fused(Key(n)) is null && Interleaved(Key(n)) is null).ToList();
        var configFile = Path.Combine(checkpoint.Directory, "config.json");
        if (missing.Count > 0)
            throw new InvalidFormatException(configFile, null, $"describes {missing.Count} weight(s) that the checkpoint's {string.Join(", ", checkpoint.Files.Select(f => f.Path))} lack(s), e.g. '{missing[0]}'" +
                (missing.Count > 1 ? $" and '{missing[^1]}'" : "") + "; is config.json for this checkpoint?");
        using var _ = no_grad();
        int done = 0;
        foreach (var (name, parameter) in parameters)
        {
            var key = Key(name);
            if (Fused(key) is { } slice)
            {
                checkpoint.LoadRange(slice.Key, slice.FirstElement, parameter);
                progress?.Report((++done, parameters.Count));
                continue;
            }
            if (Interleaved(key) is { } source)
            {
                using (var value = source.Read(checkpoint)) parameter.copy_(value);
                progress?.Report((++done, parameters.Count));
                continue;
            }
            var info = checkpoint.Info(key);
            bool transposed = config is not null && CheckpointLayout.IsTransposed(config, name);
            var expected = config is null ? parameter.shape : CheckpointLayout.StoredShape(config, name, parameter.shape);
            if (!info.Shape.SequenceEqual(expected))
                throw new InvalidFormatException(checkpoint.PathOf(key), key, $"has shape [{string.Join(", ", info.Shape)}]; the model built from {configFile} expects [{string.Join(", ", expected)}]" +
                    (transposed ? " (a Conv1D weight, [in, out])" : ""));
            if (transposed)
            {
                using var stored = checkpoint.ToTensor(key);
                parameter.copy_(stored.t());
            }
            else checkpoint.Load(key, parameter);
            progress?.Report((++done, parameters.Count));
        }
        var known = parameters.Select(p => Key(p.name)).SelectMany(k => Interleaved(k)?.Keys ?? [Fused(k)?.Key ?? k]).ToHashSet();
        return checkpoint.Names.Where(n => !known.Contains(n)).Order(StringComparer.Ordinal).ToList();
    }
}
