using System.CommandLine;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Cli;

/// <summary>Options shared by several commands.</summary>
public static class Options
{
    public static Option<string> Model(bool required = true) => new ModelSources.ModelOption("--model", "-m")
    {
        Description = $"Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json), or a Hub id [org/]name[@revision] (downloaded into the shared Hugging Face cache); '{Assets.DefaultModelName}' names the embedded model",
        Required = required,
        CustomParser = result => result.Tokens.Count == 0 ? null : ModelSources.Map(result.Tokens[^1].Value),
    };

    public static Option<string> DType(string description = "compute dtype: fp32, bf16 or fp16") => new("--dtype")
    {
        Description = description,
        DefaultValueFactory = _ => "fp32",
    };

    /// <summary>QST's <c>--side-dtype</c>, fp32 or bf16, checked when the command line is parsed.</summary>
    public static Option<string> SideDType(string description)
    {
        var option = new Option<string>("--side-dtype") { Description = description, DefaultValueFactory = _ => "fp32" };
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count == 0) return;
            try { SideTuning.QstConfig.ParseSideDType(result.Tokens[^1].Value); }
            catch (Diagnostics.QuantTuneException e) { result.AddError(SettingOptions.Describe(e)); }
        });
        return option;
    }

    public static Option<string> Device() => new("--device")
    {
        Description = "auto, cpu, cuda or cuda:N",
        DefaultValueFactory = _ => "auto",
    };

    public static Option<bool> Json() => new("--json") { Description = "write machine-readable JSON to stdout" };

    public static Option<int> Threads() => new("--threads")
    {
        Description = "CPU threads for libtorch (0: all cores)",
        DefaultValueFactory = _ => 0,
    };

    public static void ApplyThreads(int threads)
    {
        if (threads > 0) set_num_threads(threads);
    }

    public static (ScalarType DType, Device Device) Runtime(ParseResult r, Option<string> dtype, Option<string> device) =>
        (TorchRuntime.ParseDType(r.GetValue(dtype)!), TorchRuntime.ParseDevice(r.GetValue(device)!));
}
