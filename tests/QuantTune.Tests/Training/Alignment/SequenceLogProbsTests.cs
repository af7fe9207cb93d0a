using QuantTune.Training.Alignment;
using static TorchSharp.torch;

namespace QuantTune.Tests.Training.Alignment;

/// <summary>Sequence log-probabilities in chunks of positions equal the whole-logits computation, in value and in every gradient.</summary>
public sealed class SequenceLogProbsTests
{
    [Theory]
    [InlineData(1L)]
    [InlineData(5L)]
    [InlineData(64L)]
    public void ChunkedSumsNllAndGradientsEqualTheWholeLogitsOnes(long chunk)
    {
        var gen = new Generator(5);
        var x = randn(new long[] { 4, 6, 8 }, generator: gen);
        var labels = randint(0, 50, new long[] { 4, 6 }, generator: gen);
        var sequence = labels.clone();
        labels[.., ..2] = tensor(-100L); // prompt positions carry no completion label
        labels[3, 5] = tensor(-100L);    // padding
        sequence[3, 5] = tensor(-100L);
        var body = randn(new long[] { 8, 8 }, generator: gen).requires_grad_(true);
        var headWeight = randn(new long[] { 50, 8 }, generator: gen).requires_grad_(true);
        Tensor Hidden() => x.matmul(body).tanh();
        Tensor Head(Tensor h) => nn.functional.linear(h, headWeight);
        // A loss that is not linear in the sums: a DPO-like term on rows (0, 2) against (1, 3), plus the NLL of rows 0 and 1.
        Tensor Loss(Tensor sums, Tensor nll) => nn.functional.logsigmoid((sums[0] - sums[2] + sums[1] - sums[3]) * 0.3).neg() + nll * 0.7;

        // The reference: the whole logits at once, with autograd all the way.
        var logps = Head(Hidden()).log_softmax(-1);
        Tensor Gather(Tensor l) => where(l.ne(-100), logps.gather(-1, l.clamp_min(0).unsqueeze(-1)).squeeze(-1), zeros(4, 6));
        var wholeSums = Gather(labels).sum(1);
        var wholeNll = -Gather(sequence)[..2].sum() / sequence[..2].ne(-100).sum();
        Loss(wholeSums, wholeNll).backward();
        var (bodyGrad, headGrad) = (body.grad!.clone(), headWeight.grad!.clone());
        body.grad!.zero_();
        headWeight.grad!.zero_();

        var (value, sums, counts) = SequenceLogProbs.Backward(Hidden(), Head, labels, sequence, 2, (s, c, n) =>
        {
            var l = Loss(s, n!);
            return (l.item<float>(), l);
        }, chunk);
        Assert.True(allclose(wholeSums, sums, 1e-5, 1e-5));
        Assert.Equal([4f, 4f, 4f, 3f], counts.data<float>().ToArray());
        Assert.Equal(Loss(wholeSums, wholeNll).item<float>(), value, 5);
        Assert.True(allclose(bodyGrad, body.grad!, 1e-5, 1e-5), "body gradient");
        Assert.True(allclose(headGrad, headWeight.grad!, 1e-5, 1e-5), "head gradient");
    }
}
