using System.Text.Json;
using QuantTune.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace QuantTune.Formats.Safetensors;

/// <summary>
/// The weights of a Hugging Face checkpoint folder: one <c>model.safetensors</c>, or shards
/// listed by <c>model.safetensors.index.json</c> (its <c>weight_map</c> names each tensor's
/// shard). Every shard is opened and checked up front, so a missing or truncated shard is
/// reported before any weight is loaded.
/// </summary>
public sealed class SafetensorsCheckpoint : IDisposable
{
    public const string SingleFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";

    readonly Dictionary<string, SafetensorsFile> _byTensor = new(StringComparer.Ordinal);
    readonly List<SafetensorsFile> _files = new();

    public string Directory { get; }

    /// <summary>The file that names every tensor, for errors about entries: the index when sharded, else model.safetensors.</summary>
    public string Source => File.Exists(System.IO.Path.Combine(Directory, IndexFile)) ? System.IO.Path.Combine(Directory, IndexFile) : System.IO.Path.Combine(Directory, SingleFile);
    public IReadOnlyList<SafetensorsFile> Files => _files;
    public IEnumerable<string> Names => _byTensor.Keys;
    public long TotalBytes => _files.Sum(f => f.Length);

    SafetensorsCheckpoint(string directory) => Directory = directory;

    public static bool Exists(string directory) =>
        File.Exists(Path.Combine(directory, IndexFile)) || File.Exists(Path.Combine(directory, SingleFile));

    public static SafetensorsCheckpoint Open(string directory)
    {
        var ckpt = new SafetensorsCheckpoint(directory);
        try
        {
            var index = Path.Combine(directory, IndexFile);
            if (File.Exists(index)) ckpt.OpenSharded(index);
            else if (File.Exists(Path.Combine(directory, SingleFile))) ckpt.Add(SafetensorsFile.Open(Path.Combine(directory, SingleFile)));
            else throw new QuantTuneException($"{directory}: no {SingleFile} or {IndexFile}; expected a Hugging Face checkpoint folder with safetensors weights");
            return ckpt;
        }
        catch
        {
            ckpt.Dispose();
            throw;
        }
    }

    void OpenSharded(string index)
    {
        var weightMap = ShardIndex.Read(index);

        foreach (var shard in weightMap.Values.Distinct().Order(StringComparer.Ordinal))
        {
            var path = Path.Combine(Directory, shard);
            if (!File.Exists(path))
                throw new InvalidFormatException(index, "weight_map", $"names the shard '{shard}', which is missing from {Directory}");
            var file = SafetensorsFile.Open(path);
            _files.Add(file);
            foreach (var (name, s) in weightMap)
            {
                if (s != shard) continue;
                if (!file.Tensors.ContainsKey(name))
                    throw new InvalidFormatException(index, $"weight_map.{name}", $"says the tensor is in {shard}, but that shard has no such tensor");
                _byTensor[name] = file;
            }
        }
    }

    void Add(SafetensorsFile file)
    {
        _files.Add(file);
        foreach (var name in file.Tensors.Keys) _byTensor[name] = file;
    }

    public bool Contains(string name) => _byTensor.ContainsKey(name);

    public SafetensorsTensorInfo Info(string name) => FileOf(name).Info(name);

    /// <summary>The file (shard) that holds tensor <paramref name="name"/>.</summary>
    public string PathOf(string name) => FileOf(name).Path;

    public Tensor ToTensor(string name, ScalarType? dtype = null, Device? device = null) => FileOf(name).ToTensor(name, dtype, device);

    /// <summary>Fills <paramref name="destination"/> with the tensor's values: straight from the mapping when dtype and device allow, else through a converted copy.</summary>
    public void Load(string name, Tensor destination)
    {
        var info = Info(name);
        if (destination.device_type == DeviceType.CPU && destination.is_contiguous() && destination.dtype == info.DType.ToScalarType())
        {
            FileOf(name).CopyTo(name, destination);
            return;
        }
        if (destination.is_contiguous())
        {
            FileOf(name).CopyConverting(name, destination);
            return;
        }
        // copy_ converts dtype and moves across devices in one pass.
        using var source = ToTensor(name);
        destination.copy_(source);
    }

    /// <summary>Fills <paramref name="destination"/> with tensor <paramref name="name"/>'s elements from <paramref name="firstElement"/> on (storage order), converting dtype and moving to its device.</summary>
    public void LoadRange(string name, long firstElement, Tensor destination)
    {
        if (destination.is_contiguous())
        {
            FileOf(name).CopyRangeConverting(name, firstElement, destination);
            return;
        }
        using var staged = empty(destination.shape, destination.dtype, destination.device);
        FileOf(name).CopyRangeConverting(name, firstElement, staged);
        destination.copy_(staged);
    }

    SafetensorsFile FileOf(string name) =>
        _byTensor.TryGetValue(name, out var f) ? f
        : throw new QuantTuneException($"{Directory}: the checkpoint has no tensor '{name}'");

    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
        _files.Clear();
    }
}
