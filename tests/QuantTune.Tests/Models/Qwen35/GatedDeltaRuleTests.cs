using QuantTune.Models.Transformer;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models.Qwen35;

/// <summary>
/// The gated delta rule's two forms agree: the chunked one (prefill, training) and the recurrent
/// one (decoding) give the same outputs and final state over sequences shorter than, equal to and
/// longer than a chunk, from a zero state or a carried one; and splitting a sequence at any point,
/// carrying the state, gives the outputs of the whole.
/// </summary>
public sealed class GatedDeltaRuleTests
{
    const double Tolerance = 1e-5;

    static (Tensor Q, Tensor K, Tensor V, Tensor G, Tensor Beta) Inputs(long t, long seed)
    {
        using var generator = new Generator((ulong)seed);
        // 2 query/key heads of 8 serving 4 value heads of 6 (grouped as repeat_interleave)
        var q = randn([2, t, 2, 8], generator: generator);
        var k = randn([2, t, 2, 8], generator: generator);
        var v = randn([2, t, 4, 6], generator: generator);
        var g = -rand([2, t, 4], generator: generator);
        var beta = rand([2, t, 4], generator: generator);
        return (q, k, v, g, beta);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(37)]
    [InlineData(64)]
    [InlineData(150)]
    public void ChunkedAndRecurrentFormsAgree(long t)
    {
        using var scope = NewDisposeScope();
        var (q, k, v, g, beta) = Inputs(t, 7);
        using var start = randn([2, 4, 8, 6]);
        foreach (var state in new Tensor?[] { null, start })
        {
            var (chunked, chunkedState) = GatedDeltaRule.Chunked(q, k, v, g, beta, state);
            var (recurrent, recurrentState) = GatedDeltaRule.Recurrent(q, k, v, g, beta, state);
            Assert.Equal(new long[] { 2, t, 4, 6 }, chunked.shape);
            Assert.True((chunked - recurrent).abs().max().item<float>() < Tolerance);
            Assert.True((chunkedState - recurrentState).abs().max().item<float>() < Tolerance);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(63)]
    [InlineData(100)]
    public void CarryingTheStateAcrossASplitGivesTheWhole(long split)
    {
        using var scope = NewDisposeScope();
        var (q, k, v, g, beta) = Inputs(130, 11);
        var (whole, wholeState) = GatedDeltaRule.Chunked(q, k, v, g, beta, null);
        Tensor Part(Tensor x, long from, long length) => x.narrow(1, from, length);
        long rest = 130 - split;
        var (first, state) = GatedDeltaRule.Chunked(Part(q, 0, split), Part(k, 0, split), Part(v, 0, split), Part(g, 0, split), Part(beta, 0, split), null);
        var (second, finalState) = GatedDeltaRule.Chunked(Part(q, split, rest), Part(k, split, rest), Part(v, split, rest), Part(g, split, rest), Part(beta, split, rest), state);
        Assert.True((cat([first, second], 1) - whole).abs().max().item<float>() < Tolerance);
        Assert.True((finalState - wholeState).abs().max().item<float>() < Tolerance);
    }
}
