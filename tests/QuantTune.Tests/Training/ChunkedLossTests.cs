using QuantTune.Training;
using static TorchSharp.torch;

namespace QuantTune.Tests.Training;

/// <summary>The loss in chunks of positions equals PyTorch's one-piece cross-entropy, in value and in every gradient.</summary>
public sealed class ChunkedLossTests
{
    [Theory]
    [InlineData(1L)]
    [InlineData(5L)]
    [InlineData(64L)]
    public void ChunkedLossAndGradientsEqualTheWholeLogitsCrossEntropy(long chunk)
    {
        var gen = new Generator(3);
        var x = randn(new long[] { 2, 7, 8 }, generator: gen);
        var labels = randint(0, 50, new long[] { 2, 7 }, generator: gen);
        labels[0, 0] = tensor(-100L);
        labels[1, 3] = tensor(-100L);
        var body = randn(new long[] { 8, 8 }, generator: gen).requires_grad_(true);
        var headWeight = randn(new long[] { 50, 8 }, generator: gen).requires_grad_(true);
        Tensor Hidden() => x.matmul(body).tanh();
        Tensor Head(Tensor h) => nn.functional.linear(h, headWeight);

        // The reference: the whole logits at once, the mean over labelled positions, scaled by 1/2 as with 2 micro-batches.
        var whole = nn.functional.cross_entropy(Head(Hidden()).reshape(-1, 50), labels.reshape(-1));
        whole.div(tensor(2.0f)).backward();
        var (bodyGrad, headGrad) = (body.grad!.clone(), headWeight.grad!.clone());
        body.grad!.zero_();
        headWeight.grad!.zero_();

        double loss = ChunkedLoss.Backward(Hidden(), Head, labels, 0.5, chunkPositions: chunk).Mean;
        Assert.Equal(whole.item<float>(), loss, 5);
        Assert.True(body.grad!.allclose(bodyGrad, rtol: 1e-5, atol: 1e-6), "gradient through the hidden states");
        Assert.True(headWeight.grad!.allclose(headGrad, rtol: 1e-5, atol: 1e-6), "gradient of a trainable head");

        using var _ = no_grad();
        var (sum, count) = ChunkedLoss.Sum(Hidden(), Head, labels, chunk);
        Assert.Equal(12, count);
        Assert.Equal(whole.item<float>(), sum / count, 5);
    }

    [Fact]
    public void AChunkHoldsAtMost64MiBOfFp32Logits()
    {
        Assert.Equal(110, ChunkedLoss.ChunkPositions(151_936)); // Qwen3: 110 positions of 151,936 logits ≤ 2^24 values
        Assert.Equal(64, ChunkedLoss.ChunkPositions(262_144));   // Gemma 3
        Assert.Equal(1, ChunkedLoss.ChunkPositions(1L << 30));
    }
}
