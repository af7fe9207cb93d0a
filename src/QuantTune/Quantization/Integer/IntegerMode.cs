namespace QuantTune.Quantization.Integer;

/// <summary>How a group's real range maps onto the integer codes.</summary>
public enum IntegerMode
{
    /// <summary>Symmetric: s = (2^(b-1) − 1)/α with α = max|x| (or the clip), codes in ±(2^(b-1) − 1); zero stays exactly zero.</summary>
    Absmax,

    /// <summary>Asymmetric: s = (2^b − 1)/(max − min) and an integer zero point z, so all 2^b codes cover [min, max].</summary>
    ZeroPoint,
}
