using QuantTune.Models.Layers;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// Fresh weights for a model trained from scratch (or built for a benchmark or test), as
/// transformers initialises Llama: N(0, std) for linear and embedding weights, zero biases,
/// ones for RMSNorm. The values are drawn on the CPU from the seeded generator and copied to the
/// weights' device, so the same seed gives the same model anywhere (a CPU generator cannot fill a
/// CUDA tensor).
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
                    Normal(l.weight, std, generator);
                    l.bias?.zero_();
                    break;
                case TopKRouter r:
                    Normal(r.weight, std, generator);
                    break;
                case ScaledTopKRouter r:
                    // transformers' Gemma4PreTrainedModel: scale and per_expert_scale ones (proj is a TopKRouter)
                    r.scale.FillInPlace(1.0);
                    r.per_expert_scale.FillInPlace(1.0);
                    break;
                case Embedding e:
                    Normal(e.weight, std, generator);
                    break;
                case GatedDeltaNet d:
                    // transformers' Qwen3_5PreTrainedModel: dt_bias ones, A = U(0.01, 16) stored as log A
                    d.dt_bias.FillInPlace(1.0);
                    using (var a = empty(d.A_log.shape, ScalarType.Float32).uniform_(0.01, 16, generator))
                        d.A_log.copy_(a.log());
                    break;
                case CausalConv1d conv:
                    Normal(conv.weight, std, generator);
                    break;
                case GatedRmsNorm g:
                    g.weight.FillInPlace(1.0);
                    break;
                case RmsNorm n:
                    n.weight.FillInPlace(n.Kind == QuantTune.Models.Config.NormKind.OffsetOne ? 0.0 : 1.0);
                    break;
                case TorchSharp.Modules.LayerNorm n:
                    n.weight?.FillInPlace(1.0);
                    n.bias?.zero_();
                    break;
            }
        }
    }

    static void Normal(Tensor weight, double std, Generator generator)
    {
        if (weight.device_type == TorchSharp.DeviceType.CPU) { weight.normal_(0, std, generator); return; }
        using var values = empty(weight.shape, weight.dtype).normal_(0, std, generator);
        weight.copy_(values);
    }
}
