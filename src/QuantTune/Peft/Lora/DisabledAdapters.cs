using static TorchSharp.torch;

namespace QuantTune.Peft.Lora;

/// <summary>
/// PEFT's <c>with model.disable_adapter():</c> for LoRA and DoRA: while this lives, every LoRA layer and embedding of
/// the model computes as its base alone, so the model is the one the adapter was trained on (for preference
/// optimisation, the reference model, without a second copy of the weights). Disposing it enables them again.
/// </summary>
public sealed class DisabledAdapters : IDisposable
{
    readonly List<LoraLinear> _layers;
    readonly List<LoraEmbedding> _embeddings;

    public DisabledAdapters(nn.Module model)
    {
        _layers = [.. LoraModel.Layers(model).Select(l => l.Layer).Where(l => !l.AdapterDisabled)];
        _embeddings = [.. LoraModel.Embeddings(model).Select(l => l.Layer).Where(l => !l.AdapterDisabled)];
        var merged = _layers.FirstOrDefault(l => l.Merged);
        if (merged is not null) throw new InvalidOperationException("a merged LoRA layer cannot be disabled: its base weight holds the update");
        foreach (var l in _layers) l.AdapterDisabled = true;
        foreach (var e in _embeddings) e.AdapterDisabled = true;
    }

    /// <summary>How many LoRA modules were switched off.</summary>
    public int Count => _layers.Count + _embeddings.Count;

    public void Dispose()
    {
        foreach (var l in _layers) l.AdapterDisabled = false;
        foreach (var e in _embeddings) e.AdapterDisabled = false;
    }
}
