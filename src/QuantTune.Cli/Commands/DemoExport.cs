using QuantTune.Evaluation;
using QuantTune.Formats.Gguf;
using QuantTune.Models.Loading;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using Spectre.Console;

namespace QuantTune.Cli.Commands;

/// <summary>
/// The demo's last step: merge the QLoRA adapter into the full-precision base, export the result
/// as GGUF (Q4_K_M, llama.cpp's usual choice), read the file back, and compare held-out Shakespeare perplexity before and after.
/// </summary>
public static class DemoExport
{
    const LlamaFileType FileType = LlamaFileType.Q4_K_M;

    public static object Run(string baseModel, string adapter, string outputDirectory, int window, bool asJson)
    {
        var path = Path.Combine(outputDirectory, $"tiny-llama-shakespeare-{FileType.ToString().ToLowerInvariant()}.gguf");
        double merged, reloaded;
        IReadOnlyList<int> heldOut;
        using (var pm = PretrainedModel.Load(baseModel))
        {
            AdapterIO.Load(pm.Model, adapter);
            LoraModel.Merge(pm.Model);
            var tokens = pm.Tokenizer.Encode(File.ReadAllText(Assets.TinyShakespeare));
            heldOut = tokens.Skip(tokens.Count * 9 / 10).Take(16 * window + 1).ToList();
            merged = PerplexityEvaluator.Evaluate(pm.Model, heldOut, window).Perplexity;
            GgufExport.Write(pm, path, FileType);
        }
        using (var gguf = PretrainedModel.Load(path))
            reloaded = PerplexityEvaluator.Evaluate(gguf.Model, heldOut, window).Perplexity;
        long bytes = new FileInfo(path).Length;
        if (!asJson)
        {
            AnsiConsole.Write(new Rule($"export: the QLoRA-tuned model, merged, as GGUF {FileType} (llama.cpp's format)").LeftJustified());
            AnsiConsole.MarkupLine($"wrote {Markup.Escape(path)} ({bytes / 1048576.0:F2} MiB); read back: held-out perplexity {reloaded:F3} (merged fp32: {merged:F3})");
        }
        return new { path, bytes, type = FileType.ToString(), merged_perplexity = merged, gguf_perplexity = reloaded };
    }
}
