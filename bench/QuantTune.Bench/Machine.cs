using System.Runtime.InteropServices;

namespace QuantTune.Bench;

/// <summary>The machine a benchmark ran on, written next to every result.</summary>
public static class Machine
{
    public static object Describe() => new
    {
        cpu = CpuModel(),
        cores = Environment.ProcessorCount,
        memory_gib = Math.Round(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (double)(1L << 30), 1),
        os = RuntimeInformation.OSDescription,
        dotnet = RuntimeInformation.FrameworkDescription,
        torch_threads = TorchSharp.torch.get_num_threads(),
        cuda = TorchSharp.torch.cuda.is_available(),
        date = DateTime.UtcNow.ToString("u"),
    };

    static string CpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? "unknown";
        }
        catch (IOException) { return "unknown"; }
    }
}
