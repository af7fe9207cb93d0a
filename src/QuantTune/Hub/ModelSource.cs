using QuantTune.Diagnostics;

namespace QuantTune.Hub;

/// <summary>Where a model given by the caller lives: a local folder or file as it is, or a Hugging Face Hub id downloaded into the shared cache.</summary>
public static class ModelSource
{
    /// <summary>
    /// <paramref name="model"/> itself when it names an existing folder or file; else, when it reads as a Hub id
    /// (<c>[owner/]name</c>, optionally <c>@revision</c>), the snapshot folder in the Hugging Face cache, downloaded or
    /// completed as needed (<see cref="HubSnapshot.Resolve"/>; <c>HF_HOME</c>, <c>HF_ENDPOINT</c>, <c>HF_TOKEN</c> and
    /// <c>HF_HUB_OFFLINE</c> as huggingface_hub reads them unless <paramref name="settings"/> is given).
    /// </summary>
    public static string Resolve(string model, HubSettings? settings = null, IProgress<(long Done, long Total)>? progress = null, CancellationToken cancel = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        if (Directory.Exists(model) || File.Exists(model)) return model;
        if (HubModelId.TryParse(model) is not { } id)
            throw new QuantTuneException($"{model}: no such folder or file, and not a Hub id (expected a local path or a Hub id, [owner/]name[@revision])");
        return HubSnapshot.Resolve(id, settings ?? HubSettings.FromEnvironment(), progress, cancel);
    }
}
