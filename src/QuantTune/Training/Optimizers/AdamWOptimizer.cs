using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Training.Optimizers;

/// <summary>
/// 32-bit AdamW, numerically PyTorch's <c>torch.optim.AdamW</c> (see <see cref="AdamWMath"/>):
/// both moments in the parameter's dtype on the parameter's device, one step count per
/// parameter. State is allocated up front so <see cref="StateBytes"/> is known before training.
/// </summary>
public sealed class AdamWOptimizer : ITrainingOptimizer
{
    readonly ParameterList _parameters;
    readonly AdamWOptions _options;
    readonly AdamMoments[] _state;
    bool _disposed;

    public AdamWOptimizer(IReadOnlyList<(string Name, Parameter Param)> parameters, AdamWOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _parameters = new ParameterList(parameters, Name);
        LearningRate = options.Lr;
        _state = _parameters.Items.Select(p => new AdamMoments(p.Param.shape, p.Param.dtype, p.Param.device)).ToArray();
    }

    public string Name => "adamw";
    public double LearningRate { get; set; }
    public long StateBytes => _state.Sum(s => s.Bytes);

    public void Step()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _parameters.ForEachWithGrad((i, param, grad) =>
        {
            var s = _state[i];
            s.Step++;
            AdamWMath.Update(param, grad, s.ExpAvg, s.ExpAvgSq, s.Step, LearningRate, _options);
        });
    }

    public void ZeroGrad() => _parameters.ZeroGrad();

    public IReadOnlyDictionary<string, Tensor> StateDict() => StateDictIO.Save(Entries());

    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state) => StateDictIO.Load(Name, Entries().ToArray(), state);

    IEnumerable<StateEntry> Entries() => _parameters.Items.Zip(_state, (p, s) => s.Entries(p.Name)).SelectMany(e => e);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var s in _state) s.Dispose();
    }
}
