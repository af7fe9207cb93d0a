using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models.GptOss;

/// <summary>
/// tiny-gpt-oss (experts stored as MXFP4 blocks) against tools/family-fixtures/numpy_gpt_oss.py (a port of transformers'
/// modeling_gpt_oss.py): logits and hidden states of two 64-token sequences (past the 16-token window of the sliding
/// layers), greedy generation through the KV cache, perplexity; and each quirk bites: the reference without it lies far
/// from QuantTune's logits (sinks, clamped SwiGLU, YaRN, interleaved gate/up, and on the last positions the window).
/// </summary>
public sealed class TinyGptOssParityTests(ITestOutputHelper output) : ModelParityTests(TestData.TinyGptOssDir, output)
{
    readonly ITestOutputHelper _output = output;

    [Fact]
    public void EveryQuirkMovesTheLogits()
    {
        foreach (var quirk in new[] { "without_sinks", "without_clamp", "without_yarn", "gate_up_halves" })
            QuirkMovesTheLogits(quirk);
        // The window first hides keys past 16 positions: the reference without it differs on the last positions.
        using var scope = NewDisposeScope();
        var ids = Reference.Get("input_ids.0").unsqueeze(0);
        Tensor logits;
        using (inference_mode()) logits = Model.Model.Forward(ids);
        var without = Reference.Get("logits.0.without_sliding_window");
        long n = without.shape[0];
        double moved = (logits[0].narrow(0, logits.shape[1] - n, n) - without).abs().max().item<float>();
        _output.WriteLine($"without_sliding_window: the last {n} positions' logits move by {moved:F4}");
        Assert.True(moved > 0.1, $"without_sliding_window: the logits move by only {moved}");
    }
}
