using QuantTune.Diagnostics;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Training.Optimizers;

/// <summary>
/// The named parameters an optimizer updates. Names must be unique and non-empty because they
/// key the saved state; a resumed run matches state to parameters by name, not by position.
/// </summary>
internal sealed class ParameterList
{
    public IReadOnlyList<(string Name, Parameter Param)> Items { get; }

    public ParameterList(IReadOnlyList<(string Name, Parameter Param)> parameters, string optimizer)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, param) in parameters)
        {
            if (string.IsNullOrEmpty(name)) throw new QuantTuneException($"{optimizer}: every parameter needs a non-empty name.");
            if (param is null) throw new QuantTuneException($"{optimizer}: parameter '{name}' is null.");
            if (!seen.Add(name)) throw new QuantTuneException($"{optimizer}: parameter name '{name}' appears twice; names key the optimizer state and must be unique.");
            if (!param.is_floating_point()) throw new QuantTuneException($"{optimizer}: parameter '{name}' is {param.dtype}; only floating-point parameters can be optimized.");
        }
        Items = parameters.ToArray();
    }

    /// <summary>
    /// Calls <paramref name="update"/> with the index, parameter and gradient of every parameter
    /// that has a gradient (the others are skipped, as PyTorch's optimizers skip them), each in
    /// its own dispose scope so one parameter's temporaries are freed before the next.
    /// </summary>
    public void ForEachWithGrad(Action<int, Parameter, Tensor> update)
    {
        for (int i = 0; i < Items.Count; i++)
        {
            using var scope = NewDisposeScope();
            var param = Items[i].Param;
            var grad = param.grad;
            if (grad is null) continue;
            update(i, param, grad);
        }
    }

    /// <summary>Sets every grad to null, as PyTorch's <c>zero_grad(set_to_none=True)</c>: the next backward allocates fresh grads.</summary>
    public void ZeroGrad()
    {
        foreach (var (_, param) in Items)
        {
            using var grad = param.grad;
            if (grad is not null) param.grad = null;
        }
    }
}
