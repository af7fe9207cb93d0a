using QuantTune.Models.Config;

namespace QuantTune.Formats.Gguf;

/// <summary>
/// The Hugging Face parameter names and shapes of the llama (or Phi-3, fused) decoder a <see cref="ModelConfig"/>
/// describes, worked out without building the model, so an imported checkpoint is checked against
/// its own config before any allocation the config sizes.
/// </summary>
public static class LlamaShapes
{
    public static Dictionary<string, long[]> Expected(ModelConfig c)
    {
        long h = c.HiddenSize, q = (long)c.NumHeads * c.HeadDim, kv = (long)c.NumKvHeads * c.HeadDim, i = c.IntermediateSize;
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal)
        {
            ["model.embed_tokens.weight"] = [c.VocabSize, h],
            ["model.norm.weight"] = [h],
        };
        if (!c.TieWordEmbeddings) shapes["lm_head.weight"] = [c.VocabSize, h];
        for (int l = 0; l < c.NumLayers; l++)
        {
            string p = $"model.layers.{l}.";
            shapes[p + "input_layernorm.weight"] = [h];
            shapes[p + "post_attention_layernorm.weight"] = [h];
            if (c.Projections == ProjectionLayout.Fused)
            {
                shapes[p + "self_attn.qkv_proj.weight"] = [q + 2 * kv, h];
                shapes[p + "mlp.gate_up_proj.weight"] = [2 * i, h];
            }
            else
            {
                shapes[p + "self_attn.q_proj.weight"] = [q, h];
                shapes[p + "self_attn.k_proj.weight"] = [kv, h];
                shapes[p + "self_attn.v_proj.weight"] = [kv, h];
                shapes[p + "mlp.gate_proj.weight"] = [i, h];
                shapes[p + "mlp.up_proj.weight"] = [i, h];
            }
            shapes[p + "self_attn.o_proj.weight"] = [h, q];
            if (c.QkvBias)
            {
                shapes[p + "self_attn.q_proj.bias"] = [q];
                shapes[p + "self_attn.k_proj.bias"] = [kv];
                shapes[p + "self_attn.v_proj.bias"] = [kv];
            }
            if (c.OutputBias) shapes[p + "self_attn.o_proj.bias"] = [h];
            shapes[p + "mlp.down_proj.weight"] = [h, i];
        }
        return shapes;
    }
}
