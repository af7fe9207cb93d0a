using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Training.Optimizers;

/// <summary>
/// What the AdamW optimizers (32-bit, paged, 8-bit) share: the validated options and named
/// parameters, the learning rate, stepping every parameter that has a grad in its own dispose
/// scope, grads dropped by <see cref="ZeroGrad"/>, and a state dict read and written through the
/// <see cref="StateEntry"/> list each optimizer gives. An optimizer adds only where its state lives
/// and how one parameter is updated.
/// </summary>
public abstract class AdamWFamily : ITrainingOptimizer
{
    bool _disposed;

    private protected AdamWFamily(string name, IReadOnlyList<(string Name, Parameter Param)> parameters, AdamWOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Name = name;
        Options = options;
        Parameters = new ParameterList(parameters, name);
        LearningRate = options.Lr;
    }

    private protected ParameterList Parameters { get; }
    private protected AdamWOptions Options { get; }

    public string Name { get; }
    public double LearningRate { get; set; }
    public abstract long StateBytes { get; }

    public void Step()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Parameters.ForEachWithGrad(Update);
    }

    /// <summary>One AdamW update of parameter <paramref name="index"/> from its grad (inside that parameter's dispose scope).</summary>
    private protected abstract void Update(int index, Parameter param, Tensor grad);

    public void ZeroGrad() => Parameters.ZeroGrad();

    public IReadOnlyDictionary<string, Tensor> StateDict() => StateDictIO.Save(Entries());

    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state) => StateDictIO.Load(Name, Entries().ToArray(), state);

    /// <summary>The complete state, in parameter order, under the names <c>{parameter}.{field}</c>.</summary>
    private protected abstract IEnumerable<StateEntry> Entries();

    /// <summary>The entries of full-precision moments, one <see cref="AdamMoments"/> per parameter.</summary>
    private protected IEnumerable<StateEntry> Entries(IReadOnlyList<AdamMoments> moments) =>
        Parameters.Items.Zip(moments, (p, s) => s.Entries(p.Name)).SelectMany(e => e);

    /// <summary>Frees the optimizer's state tensors (called once).</summary>
    private protected abstract void DisposeState();

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        DisposeState();
        GC.SuppressFinalize(this);
    }
}
