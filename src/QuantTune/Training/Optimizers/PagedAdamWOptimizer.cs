using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Training.Optimizers;

/// <summary>
/// AdamW whose state lives in host memory (bitsandbytes' <c>PagedAdamW</c>): for a parameter on
/// a GPU, both moments stay in pinned CPU memory and are copied to the GPU only for that
/// parameter's update, then copied back, so GPU memory holds the state of one tensor at a time.
/// The arithmetic is <see cref="AdamWMath"/>, unchanged.
/// </summary>
/// <remarks>
/// bitsandbytes pages with CUDA unified memory and lets the driver evict pages under pressure;
/// TorchSharp exposes no unified-memory allocator, so this keeps the state on the host
/// unconditionally and moves it explicitly. That trades PCIe traffic every step for a GPU
/// footprint that never grows with the optimizer state.
/// The CUDA path is not exercised by the test suite (CI has no GPU). On a CPU-only machine
/// paging is pointless — parameters and state already share host memory — so
/// <see cref="PagingActive"/> is false and the optimizer is exactly <see cref="AdamWOptimizer"/>.
/// </remarks>
public sealed class PagedAdamWOptimizer : ITrainingOptimizer
{
    readonly ParameterList _parameters;
    readonly AdamWOptions _options;
    readonly AdamMoments[] _state;
    bool _disposed;

    public PagedAdamWOptimizer(IReadOnlyList<(string Name, Parameter Param)> parameters, AdamWOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _parameters = new ParameterList(parameters, Name);
        LearningRate = options.Lr;
        PagingActive = _parameters.Items.Any(p => p.Param.device_type != DeviceType.CPU);
        _state = _parameters.Items
            .Select(p => new AdamMoments(p.Param.shape, p.Param.dtype, CPU, pinned: p.Param.device_type == DeviceType.CUDA))
            .ToArray();
    }

    public string Name => "paged_adamw";
    public double LearningRate { get; set; }

    /// <summary>True when some parameter lives off the host, so its state is moved for each update.</summary>
    public bool PagingActive { get; }

    /// <summary>Why paging does or does not matter here, for logs and reports.</summary>
    public string Note => PagingActive
        ? "optimizer state is kept in pinned host memory and copied to the parameter's device only for its update"
        : "paging has no effect on CPU: state and parameters already share host memory";

    /// <summary>Bytes of state, all of it in host memory.</summary>
    public long StateBytes => _state.Sum(s => s.Bytes);

    public void Step()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _parameters.ForEachWithGrad((i, param, grad) =>
        {
            var s = _state[i];
            s.Step++;
            if (param.device_type == DeviceType.CPU)
            {
                AdamWMath.Update(param, grad, s.ExpAvg, s.ExpAvgSq, s.Step, LearningRate, _options);
                return;
            }
            // Page in (asynchronous from pinned memory), update on the device, page out. The
            // copies back are synchronous so the host state is complete before the next step
            // or a StateDict() reads it; the device copies die with this scope.
            var expAvg = s.ExpAvg.to(param.device, non_blocking: true);
            var expAvgSq = s.ExpAvgSq.to(param.device, non_blocking: true);
            AdamWMath.Update(param, grad, expAvg, expAvgSq, s.Step, LearningRate, _options);
            using var noGrad = no_grad();
            s.ExpAvg.copy_(expAvg);
            s.ExpAvgSq.copy_(expAvgSq);
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
