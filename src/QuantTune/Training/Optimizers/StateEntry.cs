using static TorchSharp.torch;

namespace QuantTune.Training.Optimizers;

/// <summary>
/// One named piece of optimizer state as it appears in a state dict: its expected shape and
/// dtype, how to read it (as a fresh CPU tensor) and how to overwrite it from a saved tensor.
/// Each optimizer lists its entries; <see cref="StateDictIO"/> does the saving, checking and
/// loading for all of them alike.
/// </summary>
internal sealed record StateEntry(string Key, long[] Shape, ScalarType DType, Func<Tensor> Read, Action<Tensor> Write)
{
    /// <summary>A tensor held by the optimizer, copied out to CPU and copied back in place.</summary>
    public static StateEntry ForTensor(string key, Tensor live) =>
        new(key, live.shape, live.dtype,
            () => live.detach().cpu().clone(),
            saved => { using var noGrad = no_grad(); live.copy_(saved); });

    /// <summary>A step counter, stored as an int64 scalar.</summary>
    public static StateEntry ForStep(string key, Func<long> get, Action<long> set) =>
        new(key, [], ScalarType.Int64, () => tensor(get()), saved => set(saved.item<long>()));
}
