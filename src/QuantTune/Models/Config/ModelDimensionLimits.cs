namespace QuantTune.Models.Config;

/// <summary>
/// Upper bounds on a model's dimensions, far above any published model, checked when a config is
/// read (config.json, GGUF metadata) so that a corrupt or hostile number is refused by name before
/// it sizes an allocation. <see cref="ParameterCount"/> lets a loader compare the model a config
/// describes with the weights a checkpoint actually holds.
/// </summary>
public static class ModelDimensionLimits
{
    public const int MaxVocab = 1 << 24;
    public const int MaxHidden = 1 << 17;
    public const int MaxIntermediate = 1 << 20;
    public const int MaxLayers = 1 << 12;
    public const int MaxHeads = 1 << 12;
    public const int MaxHeadDim = 1 << 12;
    public const int MaxExperts = 1 << 12;
    public const long MaxParameters = 1L << 42;

    /// <summary>
    /// Fails through <paramref name="fail"/> (field, problem) on the first dimension out of range;
    /// the field names are config.json's, or the caller's own through <paramref name="fieldName"/>.
    /// </summary>
    public static void Check(ModelConfig c, Func<string, string, Exception> fail, Func<string, string>? fieldName = null)
    {
        string F(string field) => fieldName?.Invoke(field) ?? field;
        void Range(string field, long value, long max)
        {
            if (value < 1 || value > max) throw fail(F(field), $"is {value}; expected 1 to {max}");
        }
        Range("vocab_size", c.VocabSize, MaxVocab);
        Range("hidden_size", c.HiddenSize, MaxHidden);
        Range("intermediate_size", c.IntermediateSize, MaxIntermediate);
        Range("num_hidden_layers", c.NumLayers, MaxLayers);
        Range("num_attention_heads", c.NumHeads, MaxHeads);
        Range("num_key_value_heads", c.NumKvHeads, c.NumHeads);
        Range("head_dim", c.HeadDim, MaxHeadDim);
        if (c.NumHeads % c.NumKvHeads != 0)
            throw fail(F("num_key_value_heads"), $"{c.NumKvHeads} does not divide num_attention_heads ({c.NumHeads})");
        if (c.HeadDim % 2 != 0) throw fail(F("head_dim"), $"is {c.HeadDim}; expected an even number (rotary embeddings rotate pairs)");
        if (ParameterCount(c) > MaxParameters)
            throw fail(F("hidden_size"), $"describes a model of {ParameterCount(c):N0} parameters; expected at most {MaxParameters:N0}");
    }

    /// <summary>The parameters of the decoder <paramref name="c"/> describes (weights; norms and biases included).</summary>
    public static long ParameterCount(ModelConfig c)
    {
        long h = c.HiddenSize, q = (long)c.NumHeads * c.HeadDim, kv = (long)c.NumKvHeads * c.HeadDim, i = c.IntermediateSize;
        long attention = h * q + 2 * h * kv + q * h + (c.QkvBias ? q + 2 * kv : 0) + (c.OutputBias ? h : 0);
        // A gated MLP's gate, up and down projections; GPT-2's plain MLP has no gate.
        long dense = c.Mlp == MlpKind.Plain ? 2 * h * i + (c.MlpBias ? i + h : 0) : 3 * h * i + (c.MlpBias ? 2 * i + h : 0);
        // A sparse layer: the router (hidden × experts) and every expert's gate, up and down projections;
        // a shared expert's three projections and its gate (hidden × 1) where the mixture has one.
        long sparse = c.Experts is { } m ? h * m.NumExperts + (long)m.NumExperts * 3 * h * m.ExpertIntermediateSize : 0;
        // gpt-oss: the router's bias, each expert's gate, up and down biases
        if (c.Experts is { } b) sparse += (b.RouterBias ? b.NumExperts : 0) + (b.ExpertBias ? (long)b.NumExperts * (2L * b.ExpertIntermediateSize + h) : 0);
        if (c.Experts?.Shared is { } s) sparse += 3 * h * s.IntermediateSize + (s.Gated ? h : 0);
        // Gemma 4's experts beside the dense MLP: the router's scale and per_expert_scale, and three more norms.
        if (c.Experts is { BesideDenseMlp: true } g) sparse += h + g.NumExperts + 3 * h;
        if (c.AttentionOutputGate) attention += h * q + (c.QkvBias ? q : 0);
        if (c.QkNorm) attention += (long)c.QkNormWidths.Q + c.QkNormWidths.K;
        if (c.AttentionSinks) attention += c.NumHeads;
        long linear = c.LinearAttention is { } la
            ? h * la.ConvDim + h * la.ValueDim + 2 * h * la.NumValueHeads + (long)la.ConvDim * la.ConvKernel + 2L * la.NumValueHeads + la.ValueHeadDim + (long)la.ValueDim * h
            : 0;
        // A norm holds a weight, and a LayerNorm (GPT-2, StableLM) also a bias.
        long norm = c.Norm == NormKind.LayerNorm ? 2 * h : h;
        long layers = Enumerable.Range(0, c.NumLayers).Sum(l => (c.IsLinearAttention(l) ? linear : PerLayerAttention(c, l) ?? attention)
            + (c.IsSparse(l) ? sparse : 0) + (c.IsSparse(l) && c.Experts!.BesideDenseMlp is false ? 0 : c.IntermediateSizeOf(l) != c.IntermediateSize ? 3 * h * c.IntermediateSizeOf(l) : dense) + 2 * norm);
        long embeddings = (long)c.VocabSize * h * (c.TieWordEmbeddings ? 1 : 2)
            + (c.Positions == PositionKind.Learned ? (long)c.MaxPositionEmbeddings * h : 0); // GPT-2's position table
        return embeddings + layers + norm + Gemma4Extras(c);
    }

    /// <summary>Gemma 4's attention of layer <paramref name="l"/>: its own head size and key/value heads, no v_proj where the keys are the values, only q_proj, o_proj and q_norm where it shares an earlier layer's keys and values; null for other families.</summary>
    static long? PerLayerAttention(ModelConfig c, int l)
    {
        if (c.GlobalHeadDim is null && !c.GlobalKeysAsValues && c.KvSharedLayers == 0) return null;
        long h = c.HiddenSize, d = c.HeadDimOf(l), q = (long)c.NumHeads * d, kv = (long)c.KvHeadsOf(l) * d;
        bool own = c.KvSourceOf(l) is null;
        long kvProjections = !own ? 0 : c.KeysAsValues(l) ? 1 : 2;
        return 2 * h * q + kvProjections * h * kv + (c.QkvBias ? q + kvProjections * kv : 0) + (c.OutputBias ? h : 0) + (c.QkNorm ? d * (own ? 2 : 1) : 0);
    }

    /// <summary>Gemma 4's per-layer inputs (embedding table, projection and its norm; each layer's gate, projection and norm), each layer's layer_scalar, and the two extra norms a layer has.</summary>
    static long Gemma4Extras(ModelConfig c)
    {
        long h = c.HiddenSize, extras = c.LayerScalar ? c.NumLayers : 0;
        if (c.PerLayerInputs is { } p)
            extras += (long)p.VocabSize * c.NumLayers * p.Size + h * c.NumLayers * p.Size + p.Size + c.NumLayers * (2L * h * p.Size + h);
        if (c.Placement == NormPlacement.Sandwich) extras += 2L * h * c.NumLayers;
        return extras;
    }
}
