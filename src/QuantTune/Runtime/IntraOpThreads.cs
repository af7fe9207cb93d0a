using static TorchSharp.torch;

namespace QuantTune.Runtime;

/// <summary>
/// Runs a small CPU operation on the calling thread alone. libtorch splits some operations
/// between its intra-op threads whatever their size (scaled_dot_product_attention does so for a
/// single query row); for a few microseconds of work the hand-over costs more than the work,
/// and much more when other processes occupy the cores and a helper thread waits for one. The
/// thread count is restored afterwards; results do not depend on it (each piece of such an
/// operation is computed by one thread either way).
/// </summary>
public static class IntraOpThreads
{
    public static Tensor OnCallingThread(Device device, Func<Tensor> operation)
    {
        if (device.type != TorchSharp.DeviceType.CPU) return operation();
        int threads = get_num_threads();
        if (threads <= 1) return operation();
        set_num_threads(1);
        try { return operation(); }
        finally { set_num_threads(threads); }
    }
}
