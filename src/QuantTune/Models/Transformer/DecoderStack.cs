using QuantTune.Models.Config;
using QuantTune.Models.Layers;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// The transformer body (transformers' LlamaModel / Qwen2Model / MistralModel): token embedding,
/// the decoder layers and the final RMSNorm. Field names match the checkpoint keys under
/// <c>model.</c>.
/// </summary>
public sealed class DecoderStack : nn.Module
{
    public Embedding embed_tokens;
    /// <summary>GPT-2's learned position table (wpe) [n_positions, hidden]; null where positions are rotary.</summary>
    public Embedding? embed_positions;
    public TorchSharp.Modules.ModuleList<DecoderLayer> layers;
    /// <summary>The final RMSNorm, or GPT-2's LayerNorm (ln_f).</summary>
    public nn.Module<Tensor, Tensor> norm;
    readonly LayerRopes _ropes;
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
        return ForwardEmbeddings(Embed(ids), cache, hiddenStates).MoveToOuterDisposeScope();
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

    /// <summary>As <see cref="Forward"/>, from input embeddings [B, T, hidden] (prompt tuning prepends learned ones).</summary>
    public Tensor ForwardEmbeddings(Tensor x, KvCache? cache = null, List<Tensor>? hiddenStates = null)
    {
        using var scope = NewDisposeScope();
        long past = cache?.Length ?? 0;
        x = AddPositions(x, past);
        hiddenStates?.Add(x);
        bool checkpoint = GradientCheckpointing && cache is null && is_grad_enabled();
        // A checkpointed layer passes gradients only to an input that needs them: with a frozen
        // embedding, mark its output as needing one (transformers' enable_input_require_grads).
        if (checkpoint && !x.requires_grad) x = x.detach().requires_grad_(true);
        for (int i = 0; i < layers.Count; i++)
        {
            var (cos, sin) = _ropes.For(i, past, x.shape[1], x.dtype);
            x = checkpoint ? CheckpointedLayer.Apply(layers[i], x, cos, sin, i) : layers[i].Forward(x, cos, sin, i, past, cache);
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
