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
public sealed class PagedAdamWOptimizer : AdamWFamily
{
    readonly AdamMoments[] _state;

    public PagedAdamWOptimizer(IReadOnlyList<(string Name, Parameter Param)> parameters, AdamWOptions options)
        : base("paged_adamw", parameters, options)
    {
        PagingActive = Parameters.Items.Any(p => p.Param.device_type != DeviceType.CPU);
        _state = Parameters.Items
            .Select(p => new AdamMoments(p.Param.shape, AdamWMath.MomentDType(p.Param.dtype), CPU, pinned: p.Param.device_type == DeviceType.CUDA))
            .ToArray();
    }

    /// <summary>True when some parameter lives off the host, so its state is moved for each update.</summary>
    public bool PagingActive { get; }

    /// <summary>Why paging does or does not matter here, for logs and reports.</summary>
    public string Note => PagingActive
        ? "optimizer state is kept in pinned host memory and copied to the parameter's device only for its update"
        : "paging has no effect on CPU: state and parameters already share host memory";

    /// <summary>Bytes of state, all of it in host memory.</summary>
    public override long StateBytes => _state.Sum(s => s.Bytes);

    private protected override void Update(int index, Parameter param, Tensor grad)
    {
        var s = _state[index];
        s.Step++;
        if (param.device_type == DeviceType.CPU)
        {
            AdamWMath.Update(param, grad, s.ExpAvg, s.ExpAvgSq, s.Step, LearningRate, Options);
            return;
        }
        // Page in (asynchronous from pinned memory), update on the device, page out. The
        // copies back are synchronous so the host state is complete before the next step
        // or a StateDict() reads it; the device copies die with this parameter's dispose scope.
        var expAvg = s.ExpAvg.to(param.device, non_blocking: true);
        var expAvgSq = s.ExpAvgSq.to(param.device, non_blocking: true);
        AdamWMath.Update(param, grad, expAvg, expAvgSq, s.Step, LearningRate, Options);
        using var noGrad = no_grad();
        s.ExpAvg.copy_(expAvg);
        s.ExpAvgSq.copy_(expAvgSq);
    }

    private protected override IEnumerable<StateEntry> Entries() => Entries(_state);

    private protected override void DisposeState()
    {
        foreach (var s in _state) s.Dispose();
    }
}
