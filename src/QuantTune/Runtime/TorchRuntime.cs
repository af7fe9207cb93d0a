using QuantTune.Diagnostics;
using static TorchSharp.torch;

namespace QuantTune.Runtime;

/// <summary>Device and dtype choices from user-facing names.</summary>
public static class TorchRuntime
{
    /// <summary>"auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N".</summary>
    public static Device ParseDevice(string name)
    {
        var n = name.Trim().ToLowerInvariant();
        if (n == "auto") return cuda.is_available() ? CUDA : CPU;
        if (n == "cpu") return CPU;
        if (n.StartsWith("cuda"))
        {
            if (!cuda.is_available())
                throw new InvalidSettingException("TorchRuntime.ParseDevice(name)", name, "CUDA is not available (this build or this machine has no CUDA libtorch); use cpu");
            return new Device(n);
        }
        throw new InvalidSettingException("TorchRuntime.ParseDevice(name)", name, "expected auto, cpu, cuda or cuda:N");
    }

    /// <summary>"fp32", "bf16" or "fp16" (also float32, bfloat16, float16).</summary>
    public static ScalarType ParseDType(string name) =>
        TryParseDType(name) ?? throw new InvalidSettingException("TorchRuntime.ParseDType(name)", name, "expected fp32, bf16 or fp16");

    /// <summary>The dtype a name means ("fp32", "bf16", "fp16", float32, bfloat16, float16), or null; a file's reader reports a null against its own field.</summary>
    public static ScalarType? TryParseDType(string name) => name.Trim().ToLowerInvariant() switch
    {
        "fp32" or "float32" or "f32" => ScalarType.Float32,
        "bf16" or "bfloat16" => ScalarType.BFloat16,
        "fp16" or "float16" or "f16" or "half" => ScalarType.Float16,
        _ => null,
    };

    public static string Name(ScalarType t) => t switch
    {
        ScalarType.Float32 => "fp32",
        ScalarType.BFloat16 => "bf16",
        ScalarType.Float16 => "fp16",
        _ => t.ToString().ToLowerInvariant(),
    };

    /// <summary>"cpu", "cuda" or "cuda:N", as <see cref="ParseDevice"/> reads them.</summary>
    public static string Name(Device d) =>
        d.type == TorchSharp.DeviceType.CPU ? "cpu" : d.index < 0 ? d.type.ToString().ToLowerInvariant() : $"{d.type.ToString().ToLowerInvariant()}:{d.index}";
}
