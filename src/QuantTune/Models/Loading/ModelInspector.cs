using QuantTune.Formats.Safetensors;
using QuantTune.Models.Config;

namespace QuantTune.Models.Loading;

/// <summary>What <c>quanttune info</c> reports: the architecture and the stored tensors, read from config.json and the safetensors headers only (no weight is loaded).</summary>
public sealed record ModelSummary(
    string Directory,
    ModelConfig Config,
    long Parameters,
    long TensorCount,
    long WeightBytes,
    long FileBytes,
    int Shards,
    IReadOnlyDictionary<string, (long Tensors, long Parameters, long Bytes)> ByDType);

public static class ModelInspector
{
    public static ModelSummary Inspect(string directory)
    {
        var config = ModelConfig.Load(directory);
        using var ckpt = SafetensorsCheckpoint.Open(directory);
        var infos = ckpt.Names.Select(ckpt.Info).ToList();
        var byDType = infos.GroupBy(i => i.DType.ToString())
            .ToDictionary(g => g.Key, g => ((long)g.Count(), g.Sum(i => i.ElementCount), g.Sum(i => i.ByteLength)));
        return new ModelSummary(directory, config,
            infos.Sum(i => i.ElementCount), infos.Count, infos.Sum(i => i.ByteLength), ckpt.TotalBytes, ckpt.Files.Count, byDType);
    }
}
