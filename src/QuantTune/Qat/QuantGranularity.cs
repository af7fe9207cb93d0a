namespace QuantTune.Qat;

/// <summary>
/// How many scales a fake-quantized tensor gets. <see cref="PerRow"/> reduces over the last
/// dimension, which is the output channel of a weight [out, in] and the token of an activation
/// [..., in]: one rule serves both.
/// </summary>
public enum QuantGranularity
{
    PerTensor,
    PerRow,
}
