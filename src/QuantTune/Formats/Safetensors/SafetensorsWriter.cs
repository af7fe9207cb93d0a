using System.Text;
using System.Text.Json;
using QuantTune.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace QuantTune.Formats.Safetensors;

/// <summary>
/// Writes tensors as one safetensors file: header (padded with spaces to 8 bytes), then the
/// tensors' bytes in the order given. The file appears whole or not at all: it is written to a
/// temporary file beside the target and renamed.
/// </summary>
public static class SafetensorsWriter
{
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        var header = new Dictionary<string, object>();
        if (metadata is { Count: > 0 }) header["__metadata__"] = metadata;
        long offset = 0;
        foreach (var (name, t) in list)
        {
            long bytes = t.NumberOfElements * t.ElementSize;
            header[name] = new
            {
                dtype = SafetensorsDTypes.FromScalarType(t.dtype).ToString(),
                shape = t.shape,
                data_offsets = new[] { offset, offset + bytes },
            };
            offset += bytes;
        }
        var json = JsonSerializer.SerializeToUtf8Bytes(header);
        int padded = (json.Length + 7) / 8 * 8;
        AtomicFile.Write(path, stream =>
        {
            stream.Write(BitConverter.GetBytes((ulong)padded));
            stream.Write(json);
            for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
            foreach (var (_, t) in list)
            {
                if (t.NumberOfElements == 0) continue;
                using var scope = NewDisposeScope();
                var cpuTensor = t.device_type == DeviceType.CPU && t.is_contiguous() ? t : t.detach().cpu().contiguous();
                stream.Write(cpuTensor.bytes);
            }
        });
    }

    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        Write(path, tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal), metadata);
}
