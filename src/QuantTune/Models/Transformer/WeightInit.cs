using QuantTune.Models.Layers;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// Fresh weights for a model trained from scratch (or built for a benchmark or test), as
/// transformers initialises Llama: N(0, std) for linear and embedding weights, zero biases,
/// ones for RMSNorm.
/// </summary>
public static class WeightInit
{
    public static void Initialize(nn.Module model, long seed, double std = 0.02)
    {
        using var _ = no_grad();
        using var generator = new Generator((ulong)seed);
        foreach (var (_, module) in model.named_modules())
        {
            switch (module)
            {
                case Linear l:
                    l.weight.normal_(0, std, generator);
                    l.bias?.zero_();
                    break;
                case Embedding e:
                    e.weight.normal_(0, std, generator);
                    break;
                case RmsNorm n:
                    n.weight.fill_(1.0);
                    break;
            }
        }
    }
}
