using static TorchSharp.torch;

namespace QuantTune.Tests.Qat;

/// <summary>Fits a layer to a target with plain SGD on the mean squared error; the QAT layers' training check.</summary>
static class SgdFit
{
    /// <summary>The loss at the first and the last of <paramref name="steps"/> steps; <paramref name="afterFirstBackward"/> sees the first gradients.</summary>
    public static (double First, double Last) Run(nn.Module<Tensor, Tensor> layer, Tensor x, Tensor target, Action afterFirstBackward, int steps = 30, double lr = 0.05)
    {
        using var optimizer = optim.SGD(layer.parameters(), lr);
        double first = 0, last = 0;
        for (int step = 0; step < steps; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(layer.forward(x), target);
            loss.backward();
            if (step == 0)
            {
                afterFirstBackward();
                first = loss.item<float>();
            }
            last = loss.item<float>();
            optimizer.step();
        }
        return (first, last);
    }
}
