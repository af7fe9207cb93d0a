using QuantTune.Models.Config;

namespace QuantTune.Formats.Gguf;

/// <summary>
/// The Hugging Face parameter names and shapes of the decoder a <see cref="ModelConfig"/> describes (its module names,
/// norms and their placement, q/k norms, fused or separate projections, biases, learned positions, linear-attention layers, mixtures of experts), worked out without
/// building the model, so an imported checkpoint is checked against its own config before any allocation the config sizes.
/// </summary>
public static class DecoderShapes
{
    public static Dictionary<string, long[]> Expected(ModelConfig c)
    {
        long h = c.HiddenSize, q = (long)c.NumHeads * c.HeadDim, kv = (long)c.NumKvHeads * c.HeadDim, i = c.IntermediateSize;
        var n = c.Names;
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal) { [$"{n.EmbeddingPath}.weight"] = [c.VocabSize, h] };
        void Linear(string module, long rows, long cols, bool bias)
        {
            shapes[module + ".weight"] = [rows, cols];
            if (bias) shapes[module + ".bias"] = [rows];
        }
        void Norm(string module, long size)
        {
            shapes[module + ".weight"] = [size];
            if (c.Norm == NormKind.LayerNorm) shapes[module + ".bias"] = [size];
        }
        // Qwen3.5's Gated DeltaNet (GatedDeltaNet): projections, the depthwise conv1d [C, 1, K], per-value-head dt_bias and A_log, the gated norm.
        void LinearAttention(string a, LinearAttention la)
        {
            Linear(a + "in_proj_qkv", la.ConvDim, h, false);
            Linear(a + "in_proj_z", la.ValueDim, h, false);
            Linear(a + "in_proj_b", la.NumValueHeads, h, false);
            Linear(a + "in_proj_a", la.NumValueHeads, h, false);
            shapes[a + "conv1d.weight"] = [la.ConvDim, 1, la.ConvKernel];
            shapes[a + "dt_bias"] = [la.NumValueHeads];
            shapes[a + "A_log"] = [la.NumValueHeads];
            shapes[a + "norm.weight"] = [la.ValueHeadDim];
            Linear(a + "out_proj", h, la.ValueDim, false);
        }
        // A sparse layer's mixture of experts (SparseMoeBlock): the router, each expert's gated MLP, the shared expert and its gate.
        void SparseMlp(string mlp, MixtureOfExperts moe)
        {
            shapes[mlp + "gate.weight"] = [moe.NumExperts, h];
            var e = moe.ExpertNames;
            for (int x = 0; x < moe.NumExperts; x++)
            {
                string expert = $"{mlp}experts.{x}.";
                Linear(expert + e.Gate, moe.ExpertIntermediateSize, h, false);
                Linear(expert + e.Up, moe.ExpertIntermediateSize, h, false);
                Linear(expert + e.Down, h, moe.ExpertIntermediateSize, false);
            }
            if (moe.Shared is not { } shared) return;
            Linear(mlp + "shared_expert.gate_proj", shared.IntermediateSize, h, false);
            Linear(mlp + "shared_expert.up_proj", shared.IntermediateSize, h, false);
            Linear(mlp + "shared_expert.down_proj", h, shared.IntermediateSize, false);
            if (shared.Gated) shapes[mlp + "shared_expert_gate.weight"] = [1, h];
        }
        if (c.Positions == PositionKind.Learned) shapes[$"{n.Stack}.{n.Positions}.weight"] = [c.MaxPositionEmbeddings, h];
        Norm($"{n.Stack}.{n.FinalNorm}", h);
        if (!c.TieWordEmbeddings) shapes["lm_head.weight"] = [c.VocabSize, h];
        for (int l = 0; l < c.NumLayers; l++)
        {
            string p = n.Layer(l) + ".", attention = p + n.Attention + ".", mlp = p + n.Mlp + ".";
            if (c.Placement != NormPlacement.Post) Norm(p + n.AttentionNorm, h);
            Norm(p + n.MlpNorm, h);
            if (c.Placement == NormPlacement.Sandwich) Norm(p + "pre_feedforward_layernorm", h);
            if (c.Placement != NormPlacement.Pre) Norm(p + "post_feedforward_layernorm", h);
            if (c.IsLinearAttention(l)) LinearAttention(p + "linear_attn.", c.LinearAttention!);
            else
            {
                if (c.Projections == ProjectionLayout.Fused) Linear(attention + n.Qkv, q + 2 * kv, h, c.QkvBias);
                else
                {
                    Linear(attention + "q_proj", c.AttentionOutputGate ? 2 * q : q, h, c.QkvBias);
                    Linear(attention + "k_proj", kv, h, c.QkvBias);
                    Linear(attention + "v_proj", kv, h, c.QkvBias);
                }
                if (c.QkNorm)
                {
                    shapes[attention + "q_norm.weight"] = [c.QkNormWidths.Q];
                    shapes[attention + "k_norm.weight"] = [c.QkNormWidths.K];
                }
                Linear(attention + n.Output, h, q, c.OutputBias);
            }
            if (c.IsSparse(l)) SparseMlp(mlp, c.Experts!);
            else if (c.Mlp == MlpKind.Plain) Linear(mlp + n.Up, i, h, c.MlpBias);
            else if (c.Projections == ProjectionLayout.Fused) Linear(mlp + "gate_up_proj", 2 * i, h, c.MlpBias);
            else
            {
                Linear(mlp + "gate_proj", i, h, c.MlpBias);
                Linear(mlp + n.Up, i, h, c.MlpBias);
            }
            if (!c.IsSparse(l)) Linear(mlp + n.Down, h, i, c.MlpBias);
        }
        return shapes;
    }
}
