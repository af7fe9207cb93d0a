using static TorchSharp.torch;

namespace QuantTune.Peft.Common;

/// <summary>
/// Freezes a base model before a PEFT method adds its own parameters, so that the trainer (which
/// trains whatever requires a gradient) updates only the method's parameters.
/// </summary>
public static class ParameterFreezing
{
    public static void FreezeAll(nn.Module model)
    {
        foreach (var p in model.parameters()) p.requires_grad = false;
    }

    /// <summary>Number of elements over the parameters that require a gradient.</summary>
    public static long TrainableCount(nn.Module model) =>
        model.parameters().Where(p => p.requires_grad).Sum(p => p.numel());
}
