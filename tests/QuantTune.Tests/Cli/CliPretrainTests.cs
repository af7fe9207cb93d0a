using System.Text.Json;
using QuantTune.Formats.Safetensors;

namespace QuantTune.Tests.Cli;

public sealed class CliPretrainTests() : TempFolderTest("qt-cli-pt-")
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PretrainingFromScratchLowersPerplexity(bool bitnet)
    {
        var data = Path.Combine(Dir, "data.txt");
        File.WriteAllText(data, File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "assets", "data", "wikitext-2", "wiki.train.raw.first1MB-nonblank.txt"))[..50_000]);
        var run = Path.Combine(Dir, bitnet ? "b158" : "fp32");
        var args = new List<string> { "pretrain", "--size", "tiny", "--data", data, "--steps", "15", "--batch", "4", "--seq", "64", "--lr", "3e-3", "--out", run, "--json" };
        if (bitnet) args.Add("--bitnet158");
        var r = CliRunner.Run(args.ToArray());
        Assert.Equal(0, r.ExitCode);
        var summary = JsonDocument.Parse(r.Stdout).RootElement;
        // From random weights: near the vocabulary size (4096) before, clearly lower after.
        Assert.InRange(summary.GetProperty("eval_perplexity_before").GetDouble(), 1000, 20000);
        Assert.True(summary.GetProperty("eval_perplexity_after").GetDouble() < summary.GetProperty("eval_perplexity_before").GetDouble() / 2);
        using var ckpt = SafetensorsCheckpoint.Open(summary.GetProperty("result_directory").GetString()!);
        Assert.Equal([128L, 128L], ckpt.Info("model.layers.0.self_attn.q_proj.weight").Shape);
        if (bitnet)
        {
            using var w = ckpt.ToTensor("model.layers.0.self_attn.q_proj.weight");
            Assert.Equal(3, w.unique().Item1.numel()); // −γ, 0, +γ
        }
    }
}
