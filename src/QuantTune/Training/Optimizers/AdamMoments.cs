using static TorchSharp.torch;

namespace QuantTune.Training.Optimizers;

/// <summary>
/// Full-precision AdamW state of one parameter: its step count and the two moments
/// (<c>exp_avg</c>, <c>exp_avg_sq</c>), allocated where the owner wants them to live.
/// </summary>
internal sealed class AdamMoments : IDisposable
{
    public long Step;
    public Tensor ExpAvg { get; }
    public Tensor ExpAvgSq { get; }

    public AdamMoments(long[] shape, ScalarType dtype, Device device, bool pinned = false)
    {
        ExpAvg = Allocate(shape, dtype, device, pinned);
        ExpAvgSq = Allocate(shape, dtype, device, pinned);
    }

    public long Bytes => 2 * ExpAvg.numel() * ExpAvg.ElementSize;

    public IEnumerable<StateEntry> Entries(string name)
    {
        yield return StateEntry.ForStep($"{name}.step", () => Step, s => Step = s);
        yield return StateEntry.ForTensor($"{name}.exp_avg", ExpAvg);
        yield return StateEntry.ForTensor($"{name}.exp_avg_sq", ExpAvgSq);
    }

    static Tensor Allocate(long[] shape, ScalarType dtype, Device device, bool pinned)
    {
        using var scope = NewDisposeScope();
        var t = zeros(shape, dtype, device);
        if (pinned) t = t.pin_memory();
        return t.DetachFromDisposeScope();
    }

    public void Dispose()
    {
        ExpAvg.Dispose();
        ExpAvgSq.Dispose();
    }
}
