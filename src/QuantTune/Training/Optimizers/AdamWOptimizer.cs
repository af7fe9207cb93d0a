using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Training.Optimizers;

/// <summary>
/// 32-bit AdamW, numerically PyTorch's <c>torch.optim.AdamW</c> (see <see cref="AdamWMath"/>):
/// both moments in the parameter's dtype (fp32 for a bf16 parameter, as bitsandbytes' 32-bit AdamW) on the parameter's device, one step count per
/// parameter. State is allocated up front so <see cref="StateBytes"/> is known before training.
/// </summary>
public sealed class AdamWOptimizer : AdamWFamily
{
    readonly AdamMoments[] _state;

    public AdamWOptimizer(IReadOnlyList<(string Name, Parameter Param)> parameters, AdamWOptions options)
        : base("adamw", parameters, options)
    {
        _state = Parameters.Items.Select(p => new AdamMoments(p.Param.shape, AdamWMath.MomentDType(p.Param.dtype), p.Param.device)).ToArray();
    }

    public override long StateBytes => _state.Sum(s => s.Bytes);

    private protected override void Update(int index, Parameter param, Tensor grad)
    {
        var s = _state[index];
        s.Step++;
        AdamWMath.Update(param, grad, s.ExpAvg, s.ExpAvgSq, s.Step, LearningRate, Options);
    }

    private protected override IEnumerable<StateEntry> Entries() => Entries(_state);

    private protected override void DisposeState()
    {
        foreach (var s in _state) s.Dispose();
    }
}
