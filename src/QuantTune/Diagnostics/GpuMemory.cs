using System.Runtime.InteropServices;

namespace QuantTune.Diagnostics;

/// <summary>
/// GPU memory in use on one device as the driver sees it (NVML's <c>nvmlDeviceGetMemoryInfo</c>): everything held
/// there, the CUDA context and the caching allocator's reserve included. TorchSharp exposes no allocator
/// statistics, so this is the reading a CUDA run has. Null where there is no NVIDIA driver.
/// </summary>
/// <remarks>NVML numbers devices as the driver does; under CUDA_VISIBLE_DEVICES that can differ from CUDA's index.</remarks>
public static partial class GpuMemory
{
    [StructLayout(LayoutKind.Sequential)]
    private struct MemoryInfo
    {
        public ulong Total, Free, Used;
    }

    [LibraryImport("libnvidia-ml.so.1", EntryPoint = "nvmlInit_v2")]
    private static partial int Init();

    [LibraryImport("libnvidia-ml.so.1", EntryPoint = "nvmlDeviceGetHandleByIndex_v2")]
    private static partial int DeviceByIndex(uint index, out nint device);

    [LibraryImport("libnvidia-ml.so.1", EntryPoint = "nvmlDeviceGetMemoryInfo")]
    private static partial int DeviceMemory(nint device, out MemoryInfo info);

    private static readonly Lazy<bool> Initialized = new(() =>
    {
        try
        {
            return Init() == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    });

    /// <summary>Bytes in use on GPU <paramref name="index"/>, or null without NVML or without that device.</summary>
    public static long? UsedBytes(int index = 0)
    {
        if (index < 0 || !Initialized.Value || DeviceByIndex((uint)index, out nint device) != 0)
        {
            return null;
        }

        return DeviceMemory(device, out MemoryInfo info) == 0 ? (long)info.Used : null;
    }
}
