using System.Runtime.InteropServices;

namespace QuantTune.Bench;

/// <summary>
/// GPU memory in use on device 0 as the driver sees it (NVML's <c>nvmlDeviceGetMemoryInfo</c>):
/// everything the process holds there, the CUDA context and the caching allocator's reserve
/// included. Null where there is no NVIDIA driver.
/// </summary>
public static partial class Nvml
{
    [StructLayout(LayoutKind.Sequential)]
    struct MemoryInfo { public ulong Total, Free, Used; }

    [LibraryImport("libnvidia-ml.so.1", EntryPoint = "nvmlInit_v2")]
    private static partial int Init();

    [LibraryImport("libnvidia-ml.so.1", EntryPoint = "nvmlDeviceGetHandleByIndex_v2")]
    private static partial int DeviceByIndex(uint index, out nint device);

    [LibraryImport("libnvidia-ml.so.1", EntryPoint = "nvmlDeviceGetMemoryInfo")]
    private static partial int DeviceMemory(nint device, out MemoryInfo info);

    static nint? _device;

    /// <summary>Bytes in use on GPU 0, or null without NVML.</summary>
    public static long? UsedBytes()
    {
        try
        {
            if (_device is null)
            {
                if (Init() != 0 || DeviceByIndex(0, out var d) != 0) return null;
                _device = d;
            }
            return DeviceMemory(_device.Value, out var info) == 0 ? (long)info.Used : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return null; }
    }
}
