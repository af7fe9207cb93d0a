using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.SideTuning;
using Optimizers8bit = QuantTune.Training.Optimizers.AdamW8bitOptimizer;

using static TorchSharp.torch;

namespace QuantTune.Training.Memory;

/// <summary>The inputs of a memory prediction.</summary>
public sealed record PlanRequest(ModelConfig Model, string Method, int Batch, int Sequence)
{
    /// <summary>Bytes per weight and activation element: 2 for bf16 (GPU), 4 for fp32 (QuantTune's CPU training).</summary>
    public int ElementBytes { get; init; } = 2;
    public int LoraRank { get; init; } = 64;
    public QstConfig Qst { get; init; } = new();
    /// <summary>Whether attention keeps its [heads, T, T] probabilities for backward (the math kernel on CPU) or not (flash/memory-efficient kernels on CUDA).</summary>
    public bool AttentionProbabilitiesKept { get; init; }
    /// <summary>Recompute each layer in backward: only the layers' inputs are kept, plus one layer's tensors while it is recomputed.</summary>
    public bool GradientCheckpointing { get; init; }
    /// <summary>adamw (32-bit moments), adamw8bit (8-bit blockwise moments) or paged-adamw (moments in host memory, paged in per step).</summary>
    public string Optimizer { get; init; } = "adamw";
    /// <summary>LoRA/QLoRA with DoRA's magnitude vectors and the weight-sized temporaries its column norms need.</summary>
    public bool Dora { get; init; }
    /// <summary>Memory the device takes before any tensor (the CUDA context and kernels: about 0.5 GiB), counted in <see cref="MemoryPlan.Total"/>.</summary>
    public long ContextBytes { get; init; }
}

/// <summary>A predicted breakdown (bytes), as in the QST paper: M1 weights, M2 optimizer state and gradients, M3 activations.</summary>
public sealed record MemoryPlan(string Method, long TrainableParameters, long M1, long M2, long M3, long Peak)
{
    /// <summary>The device's own memory (CUDA context) before any tensor.</summary>
    public long ContextBytes { get; init; }
    /// <summary>Optimizer state kept in host memory instead (paged AdamW), not in the peak.</summary>
    public long HostOptimizerBytes { get; init; }
    /// <summary>A sampling phase's KV cache (GRPO's completions), held beside the weights and optimizer state but not with the activations.</summary>
    public long GenerationBytes { get; init; }
    /// <summary>What the device needs in all: the peak and the context.</summary>
    public long Total => Peak + ContextBytes;
    public bool Fits(long budgetBytes) => Total <= budgetBytes;
}

/// <summary>
/// Predicts the memory of fine-tuning a decoder-only model with full fine-tuning, LoRA, QLoRA
/// or QST (docs/design.md §1): weights from the parameter counts and storage formats (NF4 with double
/// quantization: 4.127 bits), optimizer state as gradient + two Adam moments per trainable (fp32 for adapters and side networks,
/// parameter (3× the weights' bytes for full fine-tuning), activations from the tensors each layer keeps for backward in this implementation.
/// </summary>
public static class MemoryPlanner
{
    public static readonly string[] Methods = ["full", "lora", "qlora", "qst"];
    public static readonly string[] Optimizers = ["adamw", "adamw8bit", "paged-adamw"];
    const double Nf4BytesPerWeight = 4.127 / 8;
    /// <summary>The most tokens of one micro-batch a plan is made for (2^24: 128 sequences of 131,072 tokens).</summary>
    public const long MaxTokensPerStep = 1L << 24;

    public static MemoryPlan Plan(PlanRequest r)
    {
        if (!Optimizers.Contains(r.Optimizer)) throw new InvalidSettingException("PlanRequest.Optimizer", r.Optimizer, $"expected one of {string.Join(", ", Optimizers)}");
        if (r.Batch <= 0) throw new InvalidSettingException("PlanRequest.Batch", r.Batch, "expected a positive number of sequences");
        if (r.Sequence <= 0) throw new InvalidSettingException("PlanRequest.Sequence", r.Sequence, "expected a positive number of tokens");
        if (r.Sequence > r.Model.MaxPositionEmbeddings)
            throw new InvalidSettingException("PlanRequest.Sequence", r.Sequence, $"longer than the model's context ({r.Model.MaxPositionEmbeddings} tokens, max_position_embeddings); fine-tuning refuses it too");
        // Past this the byte counts (batch × heads × seq² per layer, say) would leave 64 bits.
        if ((long)r.Batch * r.Sequence > MaxTokensPerStep)
            throw new InvalidSettingException("PlanRequest.Sequence", r.Sequence, $"with PlanRequest.Batch {r.Batch}, {(long)r.Batch * r.Sequence:N0} tokens in one micro-batch, over the {MaxTokensPerStep:N0} the planner counts");
        if (r.LoraRank <= 0) throw new InvalidSettingException("PlanRequest.LoraRank", r.LoraRank, "expected a positive LoRA rank");
        var plan = PlanTensors(r);
        // Optimizer state: AdamW keeps two moments per trainable parameter beside its gradient.
        long moments = r.Method == "full" ? plan.TrainableParameters * 2L * r.ElementBytes : plan.TrainableParameters * 8L;
        long optimizerBytes = r.Optimizer switch
        {
            "adamw8bit" => plan.TrainableParameters * 2L + plan.TrainableParameters * 8 / Optimizers8bit.BlockSize, // one byte per moment, an fp32 absmax per block of each
            _ => moments,
        };
        long host = r.Optimizer == "paged-adamw" ? moments : 0;
        long device = r.Optimizer == "paged-adamw" ? 0 : optimizerBytes;
        long m2 = plan.M2 - moments + device;
        return plan with { M2 = m2, Peak = plan.Peak - plan.M2 + m2, HostOptimizerBytes = host, ContextBytes = r.ContextBytes };
    }

    static MemoryPlan PlanTensors(PlanRequest r)
    {
        var c = r.Model;
        long h = c.HiddenSize, i = c.IntermediateSize, v = c.VocabSize, d = c.HeadDim, heads = c.NumHeads, L = c.NumLayers;
        // Per layer: a mixture of experts' sparse layers hold every expert (all count in the weights' memory), its dense ones the MLP.
        var layerLinears = Enumerable.Range(0, c.NumLayers).Select(l => LayerLinears(c, l)).Append(StackLinears(c)).ToList();
        long linear = layerLinears.Sum(ls => ls.Sum(l => l.In * l.Out));
        // Embeddings, norms (GPT-2's LayerNorms with their biases), q/k norms, the projections' biases, learned positions, the experts' routers.
        long other = v * h * (c.TieWordEmbeddings ? 1 : 2) + (NormsPerLayer(c) * L + 1) * NormParameters(c, h) + MixerParameters(c)
            + layerLinears.Sum(ls => ls.Where(l => l.Bias).Sum(l => l.Out)) + (c.Positions == PositionKind.Learned ? (long)c.MaxPositionEmbeddings * h : 0)
            + RouterParameters(c) + PerLayerExtras(c);
        long tokens = (long)r.Batch * r.Sequence;
        int e = r.ElementBytes;
        // The loss runs in chunks (ChunkedLoss): one chunk's fp32 logits and log-softmax at a time, plus the
        // gradient of the hidden states the chunks are cut from.
        // Granite's logits scaling divides a chunk's logits into a copy of them in the model's dtype.
        long chunk = Math.Min(tokens, Training.ChunkedLoss.ChunkPositions(v));
        long logits = chunk * v * 4 * 2 + tokens * h * 4 + (c.LogitsScaling is double s && s != 1 ? chunk * v * r.ElementBytes : 0);

        switch (r.Method)
        {
            case "full":
            {
                long trainable = linear + other;
                long m1 = trainable * e;
                long m2 = trainable * 3L * e; // gradient + two Adam moments in the weights' dtype (the paper's 3×)
                long m3 = Stack(r, Layers(c, l => LayerActivations(c, l, tokens, e, r.Sequence, r.AttentionProbabilitiesKept)), tokens * h * e) + logits;
                return new MemoryPlan(r.Method, trainable, m1, m2, m3, m1 + m2 + m3 + logits / 2);
            }
            case "lora" or "qlora":
            {
                long rank = r.LoraRank;
                long lora = rank * layerLinears.Sum(ls => ls.Sum(l => l.In + l.Out));
                long magnitudes = r.Dora ? layerLinears.Sum(ls => ls.Sum(l => l.Out)) : 0; // DoRA: one magnitude per output feature of each target
                long trainable = lora + magnitudes;
                long m1 = (r.Method == "lora" ? (linear + other) * e : (long)(linear * Nf4BytesPerWeight) + other * e) + trainable * 4;
                long m2 = trainable * 12;
                // LoRA keeps, per target, its (dropped-out) input and the r-dimensional A output on top of the layer's own tensors.
                long LoraActivations(int layer) => tokens * e * (4 * h + heads * d + 2 * MlpWidth(c, layer) + 7 * rank * Math.Max(1, RoutedExperts(c, layer)));
                long m3 = Stack(r, Layers(c, l => LayerActivations(c, l, tokens, e, r.Sequence, r.AttentionProbabilitiesKept) + LoraActivations(l)), tokens * h * e) + logits;
                // DoRA's column norms need W + BA of one target at a time in fp32, and its gradient.
                long doraTemporaries = r.Dora ? 2 * i * h * 4 : 0;
                return new MemoryPlan(r.Method, trainable, m1, m2, m3, m1 + m2 + m3 + logits / 2 + doraTemporaries);
            }
            case "qst":
            {
                var side = r.Qst.SideConfig(c);
                int fed = r.Qst.LayersOf(c).Count;
                long hs = side.HiddenSize, b = r.Qst.Bottleneck;
                long downsampler = r.Qst.Downsampler switch
                {
                    DownsamplerKind.Adapter => h * b + b * hs + 2 * hs + (r.Qst.AdapterBias ? b + hs : 0),
                    DownsamplerKind.Linear => h * hs + hs,
                    DownsamplerKind.Lora => h * b + b * hs,
                    _ => 0,
                };
                long sideNorms = NormsPerLayer(side) * NormParameters(side, hs) + QkNormParameters(side);
                long sideLayer = LayerLinears(side, 0).Sum(l => l.In * l.Out) + sideNorms;
                long trainable = r.Qst.DownsamplerCount(fed) * downsampler + fed * sideLayer + fed * hs + (r.Qst.FreezeMix ? 0 : h) + NormParameters(side, hs) + hs * h + h;
                // A bf16 side network (QstConfig.SideDType) keeps its norms' weights in fp32; the moments are fp32 either way (Plan adds them).
                int se = r.Qst.SideDType == ScalarType.BFloat16 ? 2 : 4;
                long norms = fed * sideNorms + NormParameters(side, hs) + (r.Qst.Downsampler == DownsamplerKind.Adapter ? r.Qst.DownsamplerCount(fed) * 2 * hs : 0);
                long sideWeights = (trainable - norms) * se + norms * 4;
                long m1 = (long)(linear * Nf4BytesPerWeight) + other * e + sideWeights;
                long m2 = sideWeights + trainable * 8;
                // The backbone keeps nothing; each downsampler keeps its input (the backbone state) and bottleneck;
                // the side layers keep the layer tensors at width h/r; the output mix keeps two h-wide tensors; all in the side dtype.
                long downsamplerActivations = tokens * se * (h + 3 * b + 3 * hs);
                long sideActivations = LayerActivations(side, 0, tokens, se, r.Sequence, r.AttentionProbabilitiesKept);
                long m3 = (fed + 1) * downsamplerActivations + fed * sideActivations + tokens * se * 3 * h + logits;
                return new MemoryPlan(r.Method, trainable, m1, m2, m3, m1 + m2 + m3 + logits / 2);
            }
            default:
                throw new InvalidSettingException("PlanRequest.Method", r.Method, $"expected one of {string.Join(", ", Methods)}");
        }
    }

    /// <summary>
    /// The linear layers of decoder layer <paramref name="layer"/>, as (in, out, has a bias): q, k, v or the fused qkv; o; gate and up, the fused gate_up, or GPT-2's one up; down;
    /// in a mixture of experts' sparse layer, every expert's gate, up and down (the router is no linear layer: <see cref="RouterParameters"/>).
    /// </summary>
    static IReadOnlyList<(long In, long Out, bool Bias)> LayerLinears(ModelConfig c, int layer)
    {
        long h = c.HiddenSize, i = c.IntermediateSizeOf(layer), qd = (long)c.NumHeads * c.HeadDimOf(layer), kvd = (long)c.KvHeadsOf(layer) * c.HeadDimOf(layer);
        var linears = new List<(long, long, bool)>();
        if (c.PerLayerInputs is { } pli) linears.AddRange([(h, pli.Size, false), (pli.Size, h, false)]); // Gemma 4's per-layer input gate and projection
        if (c.IsLinearAttention(layer) && c.LinearAttention is { } la)
            linears.AddRange([(h, la.ConvDim, false), (h, la.ValueDim, false), (h, la.NumValueHeads, false), (h, la.NumValueHeads, false), (la.ValueDim, h, false)]);
        else
        {
            long q = c.AttentionOutputGate ? 2 * qd : qd; // Qwen3.5's q_proj also yields the output gate
            if (c.Projections == ProjectionLayout.Fused) linears.Add((h, qd + 2 * kvd, c.QkvBias));
            else if (c.KvSourceOf(layer) is not null) linears.Add((h, q, c.QkvBias)); // Gemma 4: keys and values of an earlier layer
            else if (c.KeysAsValues(layer)) linears.AddRange([(h, q, c.QkvBias), (h, kvd, c.QkvBias)]); // Gemma 4: the keys are the values
            else linears.AddRange([(h, q, c.QkvBias), (h, kvd, c.QkvBias), (h, kvd, c.QkvBias)]);
            linears.Add((qd, h, c.OutputBias));
        }
        if (c.IsSparse(layer))
        {
            long w = c.Experts!.ExpertIntermediateSize;
            bool bias = c.Experts.ExpertBias; // gpt-oss's experts
            for (int e = 0; e < c.Experts.NumExperts; e++) linears.AddRange([(h, w, bias), (h, w, bias), (w, h, bias)]);
            if (c.Experts.Shared is { } shared) linears.AddRange([(h, shared.IntermediateSize, false), (h, shared.IntermediateSize, false), (shared.IntermediateSize, h, false)]);
            if (!c.Experts.BesideDenseMlp) return linears; // Gemma 4's experts run beside the dense MLP
        }
        if (c.Mlp == MlpKind.Plain) linears.Add((h, i, c.MlpBias));
        else if (c.Projections == ProjectionLayout.Fused) linears.Add((h, 2 * i, c.MlpBias));
        else linears.AddRange([(h, i, c.MlpBias), (h, i, c.MlpBias)]);
        linears.Add((i, h, c.MlpBias));
        return linears;
    }

    /// <summary>The linear layers outside the decoder layers but the head: Gemma 4's projection of the embeddings to the per-layer inputs.</summary>
    static IReadOnlyList<(long In, long Out, bool Bias)> StackLinears(ModelConfig c) =>
        c.PerLayerInputs is { } pli ? [(c.HiddenSize, (long)c.NumLayers * pli.Size, false)] : [];

    /// <summary>
    /// gpt-oss's attention sinks, and Gemma 4's weights beside the linear layers: the per-layer embedding table, the norm of the per-layer inputs' projection, each
    /// layer's norm of its per-layer input and layer_scalar; the router's scale and per_expert_scale and the three more norms of a
    /// layer with experts beside its MLP; and the q/k norms' difference where a layer's heads differ from head_dim
    /// (the global layers' larger heads) or it has no k_norm (a layer sharing keys and values).
    /// </summary>
    static long PerLayerExtras(ModelConfig c)
    {
        long extras = c.LayerScalar ? c.NumLayers : 0;
        if (c.AttentionSinks) extras += (long)c.NumLayers * c.NumHeads; // gpt-oss's sink logit per head
        if (c.Experts is { BesideDenseMlp: true } moe)
            extras += Enumerable.Range(0, c.NumLayers).Count(c.IsSparse) * (4L * c.HiddenSize + moe.NumExperts);
        if (c.PerLayerInputs is { } pli)
            extras += (long)pli.VocabSize * c.NumLayers * pli.Size + pli.Size + (long)c.NumLayers * c.HiddenSize;
        if (c.QkNorm && c.QkNormOver == QkNormScope.Head)
            for (int l = 0; l < c.NumLayers; l++)
                if (!c.IsLinearAttention(l))
                    extras += c.HeadDimOf(l) * (c.KvSourceOf(l) is null ? 2L : 1L) - 2L * c.HeadDim;
        return extras;
    }

    /// <summary>The attention layers' q_norm and k_norm weights, and each linear-attention layer's convolution, dt_bias, A_log and gated norm (Qwen3.5).</summary>
    static long MixerParameters(ModelConfig c)
    {
        int linearLayers = Enumerable.Range(0, c.NumLayers).Count(c.IsLinearAttention);
        long extras = c.LinearAttention is { } la ? (long)la.ConvDim * la.ConvKernel + 2L * la.NumValueHeads + la.ValueHeadDim : 0;
        return (c.NumLayers - linearLayers) * QkNormParameters(c) + linearLayers * extras;
    }

    /// <summary>The routers' weights (experts × hidden in every sparse layer, and gpt-oss's biases) and the shared experts' gates (hidden), kept in the model's dtype, never adapted or quantized.</summary>
    static long RouterParameters(ModelConfig c) =>
        Enumerable.Range(0, c.NumLayers).Count(c.IsSparse) * (((long)(c.Experts?.NumExperts ?? 0) + (c.Experts?.Shared?.Gated == true ? 1 : 0)) * c.HiddenSize
            + (c.Experts?.RouterBias == true ? c.Experts.NumExperts : 0));

    /// <summary>The experts a token runs through in layer <paramref name="layer"/> (num_experts_per_tok), or 0 in a dense layer.</summary>
    static int RoutedExperts(ModelConfig c, int layer) => c.IsSparse(layer) ? c.Experts!.ExpertsPerToken : 0;

    /// <summary>The MLP width a token's activations have in layer <paramref name="layer"/>: intermediate_size (per layer where it varies), or k × moe_intermediate_size where it is routed to k experts, plus the shared expert's width where there is one and the dense MLP's beside Gemma 4's experts.</summary>
    static long MlpWidth(ModelConfig c, int layer) => c.IsSparse(layer)
        ? (long)c.Experts!.ExpertsPerToken * c.Experts.ExpertIntermediateSize + (c.Experts.Shared?.IntermediateSize ?? 0) + (c.Experts.BesideDenseMlp ? c.IntermediateSizeOf(layer) : 0)
        : c.IntermediateSizeOf(layer);

    /// <summary>A per-layer quantity for every layer.</summary>
    static IReadOnlyList<long> Layers(ModelConfig c, Func<int, long> perLayer) => Enumerable.Range(0, c.NumLayers).Select(perLayer).ToList();

    /// <summary>The parameters of one norm over <paramref name="dim"/> features: RMSNorm's weight, or LayerNorm's weight and bias.</summary>
    static long NormParameters(ModelConfig c, long dim) => c.Norm == NormKind.LayerNorm ? 2 * dim : dim;

    /// <summary>RMSNorms per decoder layer: two (before each block, or OLMo 2's after each), or Gemma's four.</summary>
    static long NormsPerLayer(ModelConfig c) => c.Placement == NormPlacement.Sandwich ? 4 : 2;

    /// <summary>The q_norm and k_norm weights of one layer where the family has them: head_dim each, or OLMo 2's over the whole q and k projections.</summary>
    static long QkNormParameters(ModelConfig c) => c.QkNorm ? (long)c.QkNormWidths.Q + c.QkNormWidths.K : 0;

    /// <summary>
    /// The activations of the layers (<paramref name="perLayer"/>: each one's tensors), or with
    /// gradient checkpointing each layer's input and the largest layer's tensors while it is recomputed.
    /// </summary>
    static long Stack(PlanRequest r, IReadOnlyList<long> perLayer, long layerInput) =>
        r.GradientCheckpointing ? perLayer.Count * layerInput + perLayer.Max() : perLayer.Sum();

    /// <summary>
    /// Bytes one decoder layer keeps for backward: the RMSNorm inputs, the normed inputs of the
    /// projections, rotated queries and keys, values, the attention output, and the MLP's gate,
    /// up, activation and product; plus the attention probabilities where the kernel keeps them.
    /// In a mixture of experts' sparse layer only the routed experts count: a token keeps the gate,
    /// up, activation and product of its k experts (k × moe_intermediate_size, not all experts'),
    /// its k gathered inputs and weighted outputs, and the router's logits and fp32 softmax.
    /// </summary>
    static long LayerActivations(ModelConfig c, int layer, long tokens, int e, int sequence, bool probabilities)
    {
        long h = c.HiddenSize, i = MlpWidth(c, layer), qd = c.NumHeads * c.HeadDim, kvd = c.NumKvHeads * c.HeadDim;
        if (c.IsLinearAttention(layer) && c.LinearAttention is { } la)
            return tokens * (e * (4 * h + 4 * i) + 4 * 2 + LinearAttentionActivations(la, e)) + MlpExtras(c, layer, tokens, e);
        long perToken = e * (4 * h + 3 * qd + 3 * kvd + 4 * i) + 4 * 2; // + fp32 RMSNorm statistics
        // The family's extra pieces: Gemma's two norms after attention and MLP (input and output each), q/k norms' inputs, Qwen3.5's output gate and its product.
        perToken += e * ((NormsPerLayer(c) - 2) * 2 * h + (c.QkNorm ? qd + kvd : 0) + (c.AttentionOutputGate ? 2 * qd : 0));
        // Soft-capped attention (Gemma 2) runs eagerly: scores, their tanh and the probabilities stay for backward.
        long attention = c.AttentionSoftcap is not null ? tokens * c.NumHeads * sequence * e * 3
            : probabilities ? tokens * c.NumHeads * sequence * 4 : 0;
        return tokens * perToken + attention + MlpExtras(c, layer, tokens, e);
    }

    /// <summary>A sparse layer's extra tensors per token: its k gathered inputs and weighted outputs, the router's logits and fp32 softmax.</summary>
    static long MlpExtras(ModelConfig c, int layer, long tokens, int e) =>
        RoutedExperts(c, layer) is int k and > 0 ? tokens * (e * 2 * k * c.HiddenSize + (e + 4) * (long)c.Experts!.NumExperts) : 0;

    /// <summary>
    /// Bytes per token a Gated DeltaNet layer keeps for backward: the projections' outputs before and
    /// after the convolution and SiLU, β, g and the gate z; the fp32 queries, keys, values and their
    /// β-weighted and decayed forms in the delta rule; each value head's three chunk × chunk matrices
    /// (decays, the triangular system, the queries' scores) in fp32; the output, its norm and gate.
    /// </summary>
    static long LinearAttentionActivations(LinearAttention la, int e) =>
        e * (3L * la.ConvDim + 2 * la.NumValueHeads + 3L * la.ValueDim) + 4 * (6L * la.NumValueHeads * la.KeyHeadDim + 4L * la.ValueDim)
        + 4 * 3L * la.NumValueHeads * Models.Transformer.GatedDeltaRule.ChunkSize;
}
