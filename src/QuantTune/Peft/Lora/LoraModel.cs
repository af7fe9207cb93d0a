using QuantTune.Diagnostics;
using QuantTune.Models;
using QuantTune.Models.Transformer;
using static TorchSharp.torch;

namespace QuantTune.Peft.Lora;

/// <summary>
/// Puts LoRA on a model and takes it off again: <see cref="Apply"/> freezes the model and wraps
/// the target layers (PEFT's <c>get_peft_model</c>), <see cref="Merge"/> folds the adapters into
/// the weights and restores plain layers (<c>merge_and_unload</c>).
/// </summary>
public static class LoraModel
{
    /// <summary>
    /// Freezes every parameter of <paramref name="model"/> and replaces each target layer by a
    /// <see cref="LoraLinear"/> around it. A is drawn from a generator seeded with
    /// <paramref name="seed"/> (layer after layer in module order), so the same seed gives the
    /// same adapter. The config's <c>modules_to_save</c> (embedding, LM head) are trained whole, as
    /// in PEFT. Returns the wrapped paths.
    /// </summary>
    public static IReadOnlyList<string> Apply(CausalLM model, LoraConfig config, long seed = 0, ScalarType dtype = ScalarType.Float32)
    {
        config.EnsureSupported();
        if (Layers(model).Count > 0 || Embeddings(model).Count > 0)
            throw new QuantTuneException("the model already has LoRA layers; merge them (LoraModel.Merge) or load a fresh model before adding another adapter");
        var paths = config.TargetModules.Resolve(model);
        foreach (var p in model.parameters()) p.requires_grad = false;
        using var generator = new Generator((ulong)seed, model.Device);
        foreach (var path in paths)
        {
            var layer = (nn.Module<Tensor, Tensor>)ModuleSurgery.Find(model, path);
            var lora = new LoraLinear(layer, config.RankOf(path), config.AlphaOf(path), config.LoraDropout, config.UseRsLora, config.UseDora,
                dtype, generator, zeroB: config.InitLoraWeights);
            lora.train(model.training);
            ModuleSurgery.Replace(model, path, lora);
        }
        foreach (var path in config.TargetModules.ResolveEmbeddings(model))
        {
            if (config.UseDora) throw new QuantTuneException($"target module '{path}' is an embedding: DoRA on the embedding is not supported; leave it out of target_modules or set use_dora false");
            var table = (Models.Layers.Embedding)ModuleSurgery.Find(model, path);
            ModuleSurgery.Replace(model, path, new LoraEmbedding(table, config.RankOf(path), config.AlphaOf(path), config.UseRsLora, dtype, generator));
        }
        ModulesToSave.Train(model, ModulesToSave.Resolve(config.ModulesToSave));
        return paths;
    }

    /// <summary>The LoRA layers of a model with their paths, in module order.</summary>
    public static IReadOnlyList<(string Path, LoraLinear Layer)> Layers(nn.Module model) =>
        model.named_modules().Where(m => m.module is LoraLinear).Select(m => (m.name, (LoraLinear)m.module)).ToList();

    /// <summary>The LoRA embeddings of a model with their paths, in module order.</summary>
    public static IReadOnlyList<(string Path, LoraEmbedding Layer)> Embeddings(nn.Module model) =>
        model.named_modules().Where(m => m.module is LoraEmbedding).Select(m => (m.name, (LoraEmbedding)m.module)).ToList();

    /// <summary>Names and element counts of the parameters that will be trained (requires_grad).</summary>
    public static IReadOnlyList<(string Name, long Count)> TrainableParameters(nn.Module model) =>
        model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter.numel())).ToList();

    /// <summary>
    /// Merges every LoRA layer into its base weight and puts the base <c>Linear</c> back in its
    /// place, so the parameter names are the checkpoint's again and the model can be saved as a
    /// plain checkpoint. Refused, before anything changes, when a base is 4-bit. Returns the paths.
    /// </summary>
    public static IReadOnlyList<string> Merge(nn.Module model)
    {
        var layers = Layers(model);
        var quantized = layers.FirstOrDefault(l => l.Layer.base_layer is not Models.Layers.Linear);
        if (quantized.Layer?.base_layer is Qat.FakeQuantLinear)
            throw new QuantTuneException($"{quantized.Path}: the adapter was trained on a quantized base (QAT with LoRA); merged into it, the weight would have to be requantized, losing the adapter. Run it unmerged, applied as an adapter on its base");
        if (quantized.Layer is not null)
            throw new QuantTuneException($"{quantized.Path}: cannot merge a LoRA adapter into a 4-bit quantized layer: its weight would have to be requantized, losing the adapter's precision. Load the full-precision model, load the adapter onto it and merge there");
        foreach (var (path, lora) in layers)
        {
            lora.Merge();
            ModuleSurgery.Replace(model, path, lora.base_layer);
            lora.lora_A.Dispose();
            lora.lora_B.Dispose();
            lora.lora_magnitude_vector?.Dispose();
        }
        var embeddings = Embeddings(model);
        foreach (var (path, lora) in embeddings)
        {
            ModuleSurgery.Replace(model, path, lora.Merge());
            lora.lora_embedding_A.Dispose();
            lora.lora_embedding_B.Dispose();
        }
        return layers.Select(l => l.Path).Concat(embeddings.Select(e => e.Path)).ToList();
    }
}
