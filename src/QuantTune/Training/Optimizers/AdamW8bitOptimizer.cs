using QuantTune.Quantization.FourBit;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Training.Optimizers;

/// <summary>
/// 8-bit block-wise AdamW (bitsandbytes' <c>AdamW8bit</c>, Dettmers et al. 2022, "8-bit
/// Optimizers via Block-wise Quantization"). For tensors of at least <see cref="Min8BitSize"/>
/// elements both moments are kept as uint8 codes in blocks of 256 with one fp32 absmax per
/// block: the first moment (signed) on <see cref="DynamicMap.Signed"/>, the second (never
/// negative) on <see cref="DynamicMap.Unsigned"/>. That is 2 bytes + 8/256 bytes per element
/// instead of 8. Smaller tensors (biases, norms) keep fp32 moments: their state is negligible
/// and quantizing it would only add error.
/// </summary>
/// <remarks>
/// Each step dequantizes a tensor's moments, runs the ordinary 32-bit AdamW update
/// (<see cref="AdamWMath"/>) with the updated, not yet re-quantized, moments — as bitsandbytes'
/// kernel does — and then stores them back with nearest-code rounding and fresh block absmax
/// values. The update is PyTorch's AdamW order (decay first); bitsandbytes' fused kernel applies
/// the decay after the Adam step and folds eps as <c>eps·√bc2</c>, which differs only in
/// rounding and an O(lr²·wd) term. The dequantized fp32 copy exists only for the tensor being
/// updated, so peak extra memory is 8 bytes per element of the largest tensor.
/// </remarks>
public sealed class AdamW8bitOptimizer : AdamWFamily
{
    /// <summary>bitsandbytes' <c>min_8bit_size</c>: smaller tensors keep 32-bit state.</summary>
    public const long Min8BitSize = 4096;

    /// <summary>Elements per absmax block (bitsandbytes' block-wise optimizers use 256).</summary>
    public const int BlockSize = BlockwiseMoment.BlockSize;

    readonly ParamState[] _state;

    /// <summary>Per parameter: a step count and either fp32 moments or two 8-bit moments.</summary>
    sealed class ParamState : IDisposable
    {
        public AdamMoments? Full;
        public BlockwiseMoment? ExpAvg, ExpAvgSq;
        public long Step8;

        public void Dispose()
        {
            Full?.Dispose();
            ExpAvg?.Dispose();
            ExpAvgSq?.Dispose();
        }
    }

    public AdamW8bitOptimizer(IReadOnlyList<(string Name, Parameter Param)> parameters, AdamWOptions options)
        : base("adamw_8bit", parameters, options)
    {
        _state = Parameters.Items.Select(p => p.Param.numel() >= Min8BitSize
            ? new ParamState
            {
                ExpAvg = new BlockwiseMoment(p.Param.shape, DynamicMap.Signed, p.Param.device),
                ExpAvgSq = new BlockwiseMoment(p.Param.shape, DynamicMap.Unsigned, p.Param.device),
            }
            : new ParamState { Full = new AdamMoments(p.Param.shape, ScalarType.Float32, p.Param.device) }).ToArray();
    }

    /// <summary>Whether the named parameter's moments are stored in 8 bits (false: fp32).</summary>
    public bool IsQuantized(string name)
    {
        for (int i = 0; i < _state.Length; i++)
            if (Parameters.Items[i].Name == name) return _state[i].Full is null;
        throw new ArgumentException($"no parameter named '{name}'", nameof(name));
    }

    /// <summary>
    /// Codes and absmax of the 8-bit moments, fp32 moments of the small tensors, and the two
    /// 256-entry maps (once, when any tensor is quantized).
    /// </summary>
    public override long StateBytes
    {
        get
        {
            long bytes = 0;
            bool anyQuantized = false;
            foreach (var s in _state)
            {
                if (s.Full is not null) bytes += s.Full.Bytes;
                else
                {
                    bytes += s.ExpAvg!.Bytes + s.ExpAvgSq!.Bytes;
                    anyQuantized = true;
                }
            }
            return anyQuantized ? bytes + 2 * 256 * sizeof(float) : bytes;
        }
    }

    private protected override void Update(int index, Parameter param, Tensor grad)
    {
        var s = _state[index];
        if (s.Full is not null)
        {
            s.Full.Step++;
            AdamWMath.Update(param, grad, s.Full.ExpAvg, s.Full.ExpAvgSq, s.Full.Step, LearningRate, Options);
            return;
        }
        s.Step8++;
        var expAvg = s.ExpAvg!.Dequantize();
        var expAvgSq = s.ExpAvgSq!.Dequantize();
        AdamWMath.Update(param, grad.to_type(ScalarType.Float32), expAvg, expAvgSq, s.Step8, LearningRate, Options);
        s.ExpAvg.Store(expAvg);
        s.ExpAvgSq.Store(expAvgSq);
    }

    private protected override IEnumerable<StateEntry> Entries()
    {
        for (int i = 0; i < _state.Length; i++)
        {
            string name = Parameters.Items[i].Name;
            var s = _state[i];
            if (s.Full is not null)
            {
                foreach (var e in s.Full.Entries(name)) yield return e;
                continue;
            }
            yield return StateEntry.ForStep($"{name}.step", () => s.Step8, v => s.Step8 = v);
            foreach (var e in s.ExpAvg!.Entries($"{name}.exp_avg")) yield return e;
            foreach (var e in s.ExpAvgSq!.Entries($"{name}.exp_avg_sq")) yield return e;
        }
    }

    private protected override void DisposeState()
    {
        foreach (var s in _state) s.Dispose();
    }
}
