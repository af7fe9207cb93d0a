using System.Text.RegularExpressions;

namespace QuantTune.Formats.Gguf;

/// <summary>One tensor to place in a mixture: its GGUF name and PyTorch shape (outermost first; the last dimension is the row length).</summary>
public sealed record GgufTensorShape(string Name, long[] Shape);

/// <summary>The hyperparameters llama.cpp's type choice reads: layer count and attention heads.</summary>
public sealed record LlamaMixtureModel(int Layers, int Heads, int KvHeads)
{
    /// <summary>hparams.n_gqa(): query heads per key/value head.</summary>
    public int Gqa => KvHeads > 0 ? Heads / KvHeads : 1;

    /// <summary>llama.cpp classifies an 80-layer llama with grouped-query attention as LLM_TYPE_70B.</summary>
    public bool Is70B => Layers == 80 && Heads != KvHeads;
}

/// <summary>
/// The tensor type llama.cpp's <c>llama-quantize</c> gives each tensor of a llama-architecture
/// model for a file type (src/llama-quant.cpp, <c>llama_tensor_get_type</c> and
/// <c>tensor_type_fallback</c>, as of ggml-org/llama.cpp 007dbbf3; no imatrix, no overrides,
/// not --pure, dense model). In short:
/// <list type="bullet">
/// <item>1-D tensors, norms, learned positions (GPT-2's position_embd), convolution kernels (ssm_conv1d) a mixture of experts' router (ffn_gate_inp) and the shared expert's one-row gate (ffn_gate_inp_shexp, which ggml counts as 1-D) are not quantized (F32 here).</item>
/// <item>A layer's stacked experts (ffn_{gate,up,down}_exps, 3-D) are typed as the 2-D tensor of their name; the rules llama.cpp adds for models of 8 experts are not followed.</item>
/// <item>F32/F16/BF16 files: every 2-D weight gets that type.</item>
/// <item>output.weight (and token_embd.weight when the embeddings are tied): Q6_K, or Q8_0 when the
///   file is Q8_0 or the row length is not a multiple of the type's block.</item>
/// <item>token_embd.weight of TQ1_0/TQ2_0 files: Q4_K.</item>
/// <item>attn_v: Q2_K → Q3_K (Q4_K with ≥4-way GQA); Q3_K_M → Q5_K for the first two, then Q4_K;
///   Q3_K_L → Q5_K; Q4_K_M/Q5_K_M → Q6_K on "use_more_bits" layers; Q4_K_S → Q5_K for the first four;
///   a 70B model bumps Q3_K/Q4_K to Q5_K.</item>
/// <item>ffn_down: Q2_K → Q3_K; Q3_K_M → Q5_K for the first n/16 layers, else Q4_K; Q3_K_L → Q5_K;
///   Q4_K_M/Q5_K_M → Q6_K on use_more_bits layers; Q4_K_S → Q5_K for the first n/8 layers.</item>
/// <item>attn_output: Q2_K → Q3_K, Q3_K_M → Q4_K, Q3_K_L → Q5_K.</item>
/// <item>A row length that is not a multiple of the chosen type's block falls back:
///   Q2_K/Q3_K/TQ1_0/TQ2_0 → Q4_0, Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, then F16 if still not a multiple.</item>
/// </list>
/// </summary>
public static partial class GgufMixture
{
    /// <summary>The type of every tensor of <paramref name="tensors"/> (a whole model's tensors: the counters need them all).</summary>
    public static IReadOnlyDictionary<string, GgmlType> Plan(LlamaFileType fileType, IReadOnlyList<GgufTensorShape> tensors, LlamaMixtureModel model)
    {
        var state = new State(model, tensors.Count(t => Category(t.Name) == Kind.AttnV), !tensors.Any(t => t.Name == "output.weight"));
        var plan = new Dictionary<string, GgmlType>(StringComparer.Ordinal);
        // llama.cpp walks the tensors in its loader's order (by layer, then by name); the per-category counters depend on it.
        foreach (var t in tensors.OrderBy(t => t.Name, LoaderOrder.Instance))
            plan[t.Name] = TypeOf(fileType, t, state);
        return plan;
    }

    /// <summary>Whether llama-quantize quantizes this tensor at all (tensor_allows_quantization, for llama's tensor names).</summary>
    public static bool AllowsQuantization(GgufTensorShape t) =>
        t.Shape.Length >= 2 && t.Name.EndsWith("weight", StringComparison.Ordinal) && !t.Name.Contains("_norm.weight", StringComparison.Ordinal)
        && t.Name != PositionEmbedding && !t.Name.Contains("ssm_conv1d", StringComparison.Ordinal)
        && !t.Name.Contains("ffn_gate_inp.weight", StringComparison.Ordinal) && !t.Name.Contains("ffn_gate_inp_shexp", StringComparison.Ordinal);

    /// <summary>A learned position table (gguf-py's MODEL_TENSOR.POS_EMBD, GPT-2's wpe), which llama-quantize leaves unquantized.</summary>
    public const string PositionEmbedding = "position_embd.weight";

    enum Kind { TokenEmbd, Output, AttnQ, AttnK, AttnV, AttnOutput, FfnGate, FfnUp, FfnDown, Other }

    sealed class State(LlamaMixtureModel model, int attentionWv, bool tiedEmbeddings)
    {
        public LlamaMixtureModel Model { get; } = model;
        public int NAttentionWv { get; } = attentionWv;
        public bool TiedEmbeddings { get; } = tiedEmbeddings;
        public int IAttentionWv { get; set; }
        public int IFfnDown { get; set; }
    }

    static Kind Category(string name) => name switch
    {
        "output.weight" => Kind.Output,
        "token_embd.weight" => Kind.TokenEmbd,
        // llama.cpp v0.5.0's category_is_attn_v: a fused attn_qkv takes attn_v's rules and counts among them
        _ when name.Contains("attn_v.weight") || name.Contains("attn_qkv.weight") => Kind.AttnV,
        _ when name.Contains("attn_k.weight") => Kind.AttnK,
        _ when name.Contains("attn_q.weight") => Kind.AttnQ,
        _ when name.Contains("attn_output.weight") => Kind.AttnOutput,
        _ when name.Contains("ffn_up") => Kind.FfnUp,
        _ when name.Contains("ffn_gate") => Kind.FfnGate,
        _ when name.Contains("ffn_down") => Kind.FfnDown,
        _ => Kind.Other,
    };

    static GgmlType TypeOf(LlamaFileType fileType, GgufTensorShape t, State s)
    {
        if (!AllowsQuantization(t)) return GgmlType.F32;
        var type = fileType.DefaultType();
        if (!fileType.IsQuantized()) return type;
        type = MixtureType(fileType, type, t, Category(t.Name), s);
        return Fallback(type, t.Shape[^1]);
    }

    /// <summary>use_more_bits: the first and last eighth of the layers and every third one between.</summary>
    static bool UseMoreBits(int i, int n) => i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;

    static GgmlType MixtureType(LlamaFileType ft, GgmlType type, GgufTensorShape t, Kind kind, State s)
    {
        var m = s.Model;
        if (kind == Kind.Output || (s.TiedEmbeddings && kind == Kind.TokenEmbd))
        {
            if (t.Shape[^1] % type.BlockSize() != 0) return GgmlType.Q8_0;
            return type != GgmlType.Q8_0 ? GgmlType.Q6_K : type;
        }
        switch (kind)
        {
            case Kind.TokenEmbd:
                return ft is LlamaFileType.TQ1_0 or LlamaFileType.TQ2_0 ? GgmlType.Q4_K : type;
            case Kind.AttnV:
            {
                int i = s.IAttentionWv++, n = s.NAttentionWv;
                if (ft == LlamaFileType.Q2_K) type = m.Gqa >= 4 ? GgmlType.Q4_K : GgmlType.Q3_K;
                else if (ft == LlamaFileType.Q3_K_M) type = i < 2 ? GgmlType.Q5_K : GgmlType.Q4_K;
                else if (ft == LlamaFileType.Q3_K_L) type = GgmlType.Q5_K;
                else if (ft is LlamaFileType.Q4_K_M or LlamaFileType.Q5_K_M && UseMoreBits(i, n)) type = GgmlType.Q6_K;
                else if (ft == LlamaFileType.Q4_K_S && i < 4) type = GgmlType.Q5_K;
                if (m.Is70B && type is GgmlType.Q3_K or GgmlType.Q4_K) type = GgmlType.Q5_K;
                return type;
            }
            case Kind.FfnDown:
            {
                // Dense model: the layer is the running count of ffn_down tensors, out of n_layer.
                int i = s.IFfnDown++, n = m.Layers;
                return ft switch
                {
                    LlamaFileType.Q2_K => GgmlType.Q3_K,
                    LlamaFileType.Q3_K_M => i < n / 16 ? GgmlType.Q5_K : GgmlType.Q4_K,
                    LlamaFileType.Q3_K_L => GgmlType.Q5_K,
                    LlamaFileType.Q4_K_M or LlamaFileType.Q5_K_M when UseMoreBits(i, n) => GgmlType.Q6_K,
                    LlamaFileType.Q4_K_S when i < n / 8 => GgmlType.Q5_K,
                    _ => type,
                };
            }
            case Kind.AttnOutput:
                return ft switch
                {
                    LlamaFileType.Q2_K => GgmlType.Q3_K,
                    LlamaFileType.Q3_K_M => GgmlType.Q4_K,
                    LlamaFileType.Q3_K_L => GgmlType.Q5_K,
                    _ => type,
                };
            default:
                return type;
        }
    }

    /// <summary>tensor_type_fallback: a type whose block the row length (ne[0]) is a multiple of.</summary>
    static GgmlType Fallback(GgmlType type, long rowLength)
    {
        if (rowLength % type.BlockSize() == 0) return type;
        var fallback = type switch
        {
            GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.TQ1_0 or GgmlType.TQ2_0 => GgmlType.Q4_0,
            GgmlType.Q4_K => GgmlType.Q5_0,
            GgmlType.Q5_K => GgmlType.Q5_1,
            GgmlType.Q6_K => GgmlType.Q8_0,
            // llama.cpp throws here ("no tensor type fallback is defined"); F16 keeps the export going.
            _ => GgmlType.F16,
        };
        return rowLength % fallback.BlockSize() == 0 ? fallback : GgmlType.F16;
    }

    [GeneratedRegex(@"^blk\.(\d+)\.")]
    private static partial Regex Layer();

    /// <summary>llama_model_loader's weight_name_comparer: by layer number (non-layer tensors first), then by name.</summary>
    sealed class LoaderOrder : IComparer<string>
    {
        public static readonly LoaderOrder Instance = new();

        public int Compare(string? a, string? b)
        {
            int la = LayerOf(a!), lb = LayerOf(b!);
            return la != lb ? la.CompareTo(lb) : string.CompareOrdinal(a, b);
        }

        static int LayerOf(string name) => Layer().Match(name) is { Success: true } m ? int.Parse(m.Groups[1].Value) : -1;
    }
}
