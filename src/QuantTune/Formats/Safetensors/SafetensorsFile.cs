using System.IO.MemoryMappedFiles;
using QuantTune.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace QuantTune.Formats.Safetensors;

/// <summary>
/// A safetensors file opened read-only and memory-mapped: the header is parsed and checked at
/// open, tensor bytes are read straight from the mapping (the OS pages them in on demand), and
/// the pages of a tensor copied out are handed back (<see cref="MappedPages"/>), so a loaded
/// checkpoint does not stay resident beside the model built from it.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    readonly MemoryMappedFile _map;
    readonly MemoryMappedViewAccessor _view;
    readonly byte* _base;
    readonly long _dataStart;
    bool _disposed;

    public string Path { get; }
    public long Length { get; }
    public IReadOnlyDictionary<string, SafetensorsTensorInfo> Tensors { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    SafetensorsFile(string path)
    {
        Path = path;
        if (!File.Exists(path))
            throw new QuantTuneException($"{path}: file not found");
        Length = IO.FileLength.Of(path);
        if (Length < 8)
            SafetensorsHeader.ReadLength(ReadOnlySpan<byte>.Empty, path, Length);
        _map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _base = p + _view.PointerOffset;
        try
        {
            long headerLength = SafetensorsHeader.ReadLength(new ReadOnlySpan<byte>(_base, 8), path, Length);
            var parsed = SafetensorsHeader.Parse(new ReadOnlySpan<byte>(_base + 8, (int)headerLength), path, Length);
            _dataStart = parsed.DataStart;
            Tensors = parsed.Tensors;
            Metadata = parsed.Metadata;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public static SafetensorsFile Open(string path) => new(path);

    public SafetensorsTensorInfo Info(string name) =>
        Tensors.TryGetValue(name, out var info) ? info : throw new QuantTuneException($"{Path}: no tensor named '{name}'");

    /// <summary>The raw little-endian bytes of a tensor, straight from the mapping.</summary>
    public ReadOnlySpan<byte> GetBytes(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var info = Info(name);
        if (info.ByteLength > int.MaxValue)
            throw new QuantTuneException($"{Path}: tensor '{name}' has {info.ByteLength} bytes; use ToTensor for tensors over 2 GiB");
        return new ReadOnlySpan<byte>(_base + _dataStart + info.Begin, (int)info.ByteLength);
    }

    /// <summary>
    /// Copies a tensor into a new CPU tensor of the stored dtype (one copy, from the mapping into
    /// libtorch memory), then converts it to <paramref name="dtype"/> and moves it to
    /// <paramref name="device"/> when those are given.
    /// </summary>
    public Tensor ToTensor(string name, ScalarType? dtype = null, Device? device = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var info = Info(name);
        var stored = info.DType.ToScalarType();
        if (dtype is ScalarType d && d != stored)
        {
            // Converted a slice at a time: the stored-dtype copy of the whole tensor never exists.
            var converted = empty(info.Shape, d);
            CopyConverting(name, converted);
            return device is not null && device.type != DeviceType.CPU ? Replace(converted, converted.to(device)) : converted;
        }
        var t = empty(info.Shape, stored);
        CopyInto(t, _base + _dataStart + info.Begin, info.ByteLength);
        MappedPages.Release(_base + _dataStart + info.Begin, info.ByteLength);
        if (device is not null && device.type != DeviceType.CPU) t = Replace(t, t.to(device));
        return t;
    }

    /// <summary>
    /// Fills <paramref name="destination"/>, a contiguous tensor of any dtype and device with the
    /// tensor's element count, converting <paramref name="sliceBytes"/> of the file at a time, so
    /// the extra memory is one slice rather than a whole copy of the tensor in its stored dtype.
    /// </summary>
    public void CopyConverting(string name, Tensor destination, long sliceBytes = 16 << 20)
    {
        var info = Info(name);
        if (!destination.is_contiguous() || destination.numel() != info.ElementCount)
            throw new ArgumentException($"CopyConverting needs a contiguous tensor of {info.ElementCount} elements", nameof(destination));
        CopyRangeConverting(name, 0, destination, sliceBytes);
    }

    /// <summary>
    /// Fills <paramref name="destination"/>, a contiguous tensor of any dtype and device, with the
    /// tensor's elements from <paramref name="firstElement"/> on in storage order (one expert's rows
    /// of a fused [experts, rows, columns] tensor, say), converting a slice of the file at a time.
    /// </summary>
    public void CopyRangeConverting(string name, long firstElement, Tensor destination, long sliceBytes = 16 << 20)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var info = Info(name);
        long total = destination.numel();
        if (!destination.is_contiguous() || firstElement < 0 || firstElement + total > info.ElementCount)
            throw new ArgumentException($"CopyRangeConverting needs a contiguous tensor of at most {info.ElementCount - firstElement} elements", nameof(destination));
        if (total == 0) return;
        long elementBytes = info.ByteLength / info.ElementCount;
        long perSlice = Math.Max(1, sliceBytes / elementBytes);
        using var flat = destination.view(-1);
        using var buffer = empty(Math.Min(perSlice, total), info.DType.ToScalarType());
        for (long start = 0; start < total; start += perSlice)
        {
            long count = Math.Min(perSlice, total - start);
            var source = _base + _dataStart + info.Begin + (firstElement + start) * elementBytes;
            using var last = count == buffer.numel() ? null : empty(count, info.DType.ToScalarType());
            var slice = last ?? buffer;
            CopyInto(slice, source, count * elementBytes);
            MappedPages.Release(source, count * elementBytes);
            using var target = flat.narrow(0, start, count);
            target.copy_(slice);
        }
    }

    /// <summary>
    /// Copies a tensor's bytes straight from the mapping into <paramref name="destination"/>, a
    /// contiguous CPU tensor of the same dtype and element count (one copy, no temporary).
    /// </summary>
    public void CopyTo(string name, Tensor destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var info = Info(name);
        if (destination.device_type != DeviceType.CPU || !destination.is_contiguous() || destination.dtype != info.DType.ToScalarType() || destination.numel() != info.ElementCount)
            throw new ArgumentException($"CopyTo needs a contiguous CPU {info.DType} tensor of {info.ElementCount} elements", nameof(destination));
        CopyInto(destination, _base + _dataStart + info.Begin, info.ByteLength);
        MappedPages.Release(_base + _dataStart + info.Begin, info.ByteLength);
    }

    static Tensor Replace(Tensor old, Tensor next)
    {
        old.Dispose();
        return next;
    }

    internal static void CopyInto(Tensor destination, byte* source, long length)
    {
        if (length == 0) return;
        var span = destination.bytes;
        if (span.Length != length) throw new InvalidOperationException($"tensor holds {span.Length} bytes, expected {length}");
        fixed (byte* dst = span)
            Buffer.MemoryCopy(source, dst, length, length);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_base != null) _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view?.Dispose();
        _map?.Dispose();
    }
}
