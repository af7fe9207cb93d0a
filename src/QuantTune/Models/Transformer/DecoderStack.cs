using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Layers;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// The transformer body (transformers' LlamaModel / Qwen2Model / MistralModel): token embedding,
/// the decoder layers and the final RMSNorm. Field names match the checkpoint keys under
/// <c>model.</c>. Gemma 4 adds per-layer inputs (<see cref="PerLayerInputs"/>) and layers that attend over an
/// earlier layer's keys and values (<see cref="SharedKeyValues"/>).
/// </summary>
public sealed class DecoderStack : nn.Module
{
    public Embedding embed_tokens;
    /// <summary>GPT-2's learned position table (wpe) [n_positions, hidden]; null where positions are rotary.</summary>
    public Embedding? embed_positions;
    public TorchSharp.Modules.ModuleList<DecoderLayer> layers;
    /// <summary>The final RMSNorm, or GPT-2's LayerNorm (ln_f).</summary>
    public nn.Module<Tensor, Tensor> norm;
    /// <summary>Gemma 4's per-layer embedding table [per-layer vocab, layers·size]; null where the family has none.</summary>
    public Embedding? embed_tokens_per_layer;
    /// <summary>Gemma 4's projection of the input embeddings to the per-layer inputs (hidden → layers·size); null where the family has none.</summary>
    public nn.Module<Tensor, Tensor>? per_layer_model_projection;
    /// <summary>Gemma 4's norm of that projection, over each layer's slice (size); null where the family has none.</summary>
    public RmsNorm? per_layer_projection_norm;
    readonly LayerRopes _ropes;
    readonly ModelConfig _config;
    readonly bool _sharesKv;
    readonly double? _embeddingScale;
    readonly double? _embeddingMultiplier;

    public DecoderStack(ModelConfig c, ScalarType dtype, Device device) : base(nameof(DecoderStack))
    {
        embed_tokens = new Embedding(c.VocabSize, c.HiddenSize, dtype, device);
        if (c.Positions == PositionKind.Learned) embed_positions = new Embedding(c.MaxPositionEmbeddings, c.HiddenSize, dtype, device);
        layers = new TorchSharp.Modules.ModuleList<DecoderLayer>(Enumerable.Range(0, c.NumLayers).Select(i => new DecoderLayer(c, i, dtype, device)).ToArray());
        norm = Norms.Create(c.HiddenSize, c.RmsNormEps, dtype, device, c.Norm);
        _ropes = new LayerRopes(c, c.HeadDim, device);
        _embeddingScale = c.ScaleEmbedding ? Math.Sqrt(c.HiddenSize) : null;
        _embeddingMultiplier = c.EmbeddingMultiplier is double m && m != 1 ? m : null;
        _config = c;
        _sharesKv = Enumerable.Range(0, c.NumLayers).Any(l => c.KvSourceOf(l) is not null);
        if (c.PerLayerInputs is { } pli)
        {
            embed_tokens_per_layer = new Embedding(pli.VocabSize, (long)c.NumLayers * pli.Size, dtype, device);
            per_layer_model_projection = new Linear(c.HiddenSize, (long)c.NumLayers * pli.Size, false, dtype, device);
            per_layer_projection_norm = new RmsNorm(pli.Size, c.RmsNormEps, dtype, device, c.Norm);
        }
        RegisterComponents();
        ModuleNaming.Rename(this, (nameof(embed_tokens), c.Names.Embedding), (nameof(embed_positions), c.Names.Positions),
            (nameof(layers), c.Names.Layers), (nameof(norm), c.Names.FinalNorm));
    }

    /// <summary>
    /// Runs the stack on token ids [B, T]. Returns the normed last hidden state [B, T, hidden].
    /// When <paramref name="hiddenStates"/> is given it receives, as transformers'
    /// output_hidden_states does, the embedding output, each layer's output, and for the last
    /// layer the normed output (L+1 tensors). Those belong to the caller: they are outside any
    /// dispose scope, so the caller disposes them.
    /// </summary>
    public Tensor Forward(Tensor ids, KvCache? cache = null, List<Tensor>? hiddenStates = null)
    {
        using var scope = NewDisposeScope();
        var x = Embed(ids);
        return ForwardEmbeddings(x, cache, hiddenStates, PerLayerInputsOf(ids, x)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Gemma 4's per-layer inputs [B, T, layers, size] of token ids and their input embeddings: (norm(projection(embeddings) ·
    /// hidden^-½) + per-layer embeddings · √size) · 2^-½, as transformers' project_per_layer_inputs; null where the family has none.
    /// </summary>
    public Tensor? PerLayerInputsOf(Tensor ids, Tensor embeddings)
    {
        if (_config.PerLayerInputs is not { } pli) return null;
        using var scope = NewDisposeScope();
        long b = ids.shape[0], t = ids.shape[1];
        var rows = embed_tokens_per_layer!.forward(ids);
        using var factor = PinnedScalarMath.Full([], Math.Sqrt(pli.Size), ScalarType.Float64, rows.device).to_type(rows.dtype);
        var tokens = (rows * factor).reshape(b, t, _config.NumLayers, pli.Size);
        var projected = per_layer_model_projection!.forward(embeddings).Times(1.0 / Math.Sqrt(_config.HiddenSize));
        projected = per_layer_projection_norm!.forward(projected.reshape(b, t, _config.NumLayers, pli.Size));
        return projected.Plus(tokens).Times(Math.Sqrt(0.5)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The input embeddings of token ids: the table's rows, times √hidden where the family scales
    /// them (Gemma), the factor rounded to the table's dtype first as transformers does
    /// (√2304 = 48 in bf16); or times the embedding multiplier (Granite), a Python float in
    /// transformers, so not rounded first.
    /// </summary>
    public Tensor Embed(Tensor ids)
    {
        var rows = embed_tokens.forward(ids);
        if (_embeddingMultiplier is double multiplier)
        {
            using var multiplied = NewDisposeScope();
            return rows.Times(multiplier).MoveToOuterDisposeScope();
        }
        if (_embeddingScale is not double scale) return rows;
        using var scope = NewDisposeScope();
        using var factor = PinnedScalarMath.Full([], scale, ScalarType.Float64, rows.device).to_type(rows.dtype);
        return (rows * factor).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Input embeddings [B, T, hidden] of positions past..past+T-1 plus their learned position
    /// embeddings (GPT-2: inputs_embeds + wpe(position_ids)); unchanged where positions are rotary.
    /// </summary>
    public Tensor AddPositions(Tensor x, long past)
    {
        if (embed_positions is null) return x;
        using var scope = NewDisposeScope();
        using var positions = PinnedScalarMath.Arange(past, past + x.shape[1], ScalarType.Int64, x.device);
        return x.Plus(embed_positions.forward(positions)).MoveToOuterDisposeScope();
    }

    /// <summary>The first layer's input for token ids at positions past..: their embeddings with their positions (for those that run the layers themselves: QST, GPTQ).</summary>
    public Tensor LayerInput(Tensor ids, long past)
    {
        using var scope = NewDisposeScope();
        return AddPositions(Embed(ids), past).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// As <see cref="Forward"/>, from input embeddings [B, T, hidden] (prompt tuning prepends learned ones). A family with
    /// per-layer inputs (Gemma 4) also needs those (<see cref="PerLayerInputsOf"/>): they come from the token ids, which
    /// embeddings alone do not give.
    /// </summary>
    public Tensor ForwardEmbeddings(Tensor x, KvCache? cache = null, List<Tensor>? hiddenStates = null, Tensor? perLayerInputs = null)
    {
        if (_config.PerLayerInputs is not null && perLayerInputs is null)
            throw new QuantTuneException($"model_type '{_config.ModelType}' feeds each layer an input computed from the token ids (per-layer embeddings); it cannot run from input embeddings alone (prompt tuning)");
        using var scope = NewDisposeScope();
        using var shared = _sharesKv ? new SharedKeyValues() : null;
        long past = cache?.Length ?? 0;
        x = AddPositions(x, past);
        hiddenStates?.Add(x);
        // Gemma 4's layers take more than their input (per-layer inputs, other layers' keys and values): they run whole.
        bool checkpoint = GradientCheckpointing && cache is null && is_grad_enabled() && perLayerInputs is null && shared is null;
        // A checkpointed layer passes gradients only to an input that needs them: with a frozen
        // embedding, mark its output as needing one (transformers' enable_input_require_grads).
        if (checkpoint && !x.requires_grad) x = x.detach().requires_grad_(true);
        for (int i = 0; i < layers.Count; i++)
        {
            var (cos, sin) = _ropes.For(i, past, x.shape[1], x.dtype);
            using var perLayer = perLayerInputs?.select(2, i);
            x = checkpoint ? CheckpointedLayer.Apply(layers[i], x, cos, sin, i) : layers[i].Forward(x, cos, sin, i, past, cache, perLayer, shared);
            if (i < layers.Count - 1) hiddenStates?.Add(x);
        }
        var output = norm.forward(x);
        if (hiddenStates is not null)
        {
            hiddenStates.Add(output.alias());
            foreach (var h in hiddenStates) h.DetachFromDisposeScope();
        }
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>Recompute each layer in backward instead of keeping its activations (see <see cref="CheckpointedLayer"/>).</summary>
    public bool GradientCheckpointing { get; set; }

    /// <summary>Layer <paramref name="layer"/>'s RoPE cos/sin tables for positions start..start+length-1 (for models that run the layers themselves, as QST does).</summary>
    public (Tensor Cos, Tensor Sin) RopeTables(int layer, long start, long length, ScalarType dtype) => _ropes.For(layer, start, length, dtype);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _ropes.Dispose();
        }
        base.Dispose(disposing);
    }
}
