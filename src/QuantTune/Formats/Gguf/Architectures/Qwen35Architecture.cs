using System.Text.RegularExpressions;
using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Families;

namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>
/// <c>qwen35</c>: convert_hf_to_gguf.py's Qwen3_5TextModel (llama.cpp release v0.5.0, conversion/qwen.py: Qwen3NextModel's
/// keys and transforms, _LinearAttentionVReorderBase's value-head order, _Qwen35MRopeMixin's sections) for
/// <c>qwen3_5_text</c> and the text model of <c>qwen3_5</c>, as llama.cpp's src/models/qwen35.cpp loads and runs it.
/// <list type="bullet">
/// <item>Keys: TextModel's, the RoPE sections (<c>rope.dimension_sections</c>, mrope_section padded to 4, else
///   [11, 11, 10, 0]), the rotated dimensions (<c>rope.dimension_count</c>), and the Gated DeltaNet's sizes under
///   Mamba's names: <c>ssm.conv_kernel</c>, <c>ssm.state_size</c> (the key head size), <c>ssm.group_count</c> (key
///   heads), <c>ssm.time_step_rank</c> (value heads), <c>ssm.inner_size</c> (value channels), with
///   <c>attention.recurrent_layers</c> and <c>full_attention_interval</c>.</item>
/// <item>Every Qwen3_5RMSNorm weight (layer norms, q/k norms, the final norm) is written as w + 1 (llama.cpp scales
///   by w); the linear attention's gated norm (ssm_norm) already scales by w and is written as it is.
///   post_attention_layernorm is <c>post_attention_norm</c>, not ffn_norm.</item>
/// <item>The decay: HF keeps A_log and computes g = −exp(A_log)·softplus(a + dt_bias); the file holds
///   <c>ssm_a</c> = −exp(A_log) (no .weight suffix) and <c>ssm_dt.bias</c> = dt_bias, and llama.cpp multiplies
///   softplus(alpha + ssm_dt) by ssm_a. Read back, A_log = ln(−ssm_a), within a float32 rounding of the original.</item>
/// <item>The conv1d kernel [C, 1, K] is squeezed to [C, K] (<c>ssm_conv1d</c>, never quantized).</item>
/// <item>Value heads: HF groups them by key head (k0v0, k0v1, k1v0, …, each key head serving consecutive value heads);
///   ggml broadcasts the key heads tiled, so the converter reorders every value-head axis to (v0k0, v0k1, v1k0, …) when
///   key and value head counts differ: the value rows of in_proj_qkv (<c>attn_qkv</c>) and of the conv1d, the rows of
///   in_proj_z (<c>attn_gate</c>), in_proj_b (<c>ssm_beta</c>), in_proj_a (<c>ssm_alpha</c>), dt_bias and A_log, and
///   the columns of out_proj (<c>ssm_out</c>).</item>
/// <item>q_proj (query and output gate interleaved per head) is written as it is: llama.cpp splits it the same way.</item>
/// </list>
/// What llama.cpp's qwen35 cannot hold is refused: a value head size other than the key head size (its loader and
/// state take both from ssm.state_size), attention biases, and RoPE sections that leave some rotated pair on the
/// fourth axis (llama.cpp gives text position 0 there).
/// </summary>
public sealed partial class Qwen35Architecture : TextModelArchitecture
{
    /// <inheritdoc/>
    public override string Name => "qwen35";

    /// <inheritdoc/>
    public override string ModelType => "qwen3_5_text";

    /// <inheritdoc/>
    public override bool Takes(ModelFamily family) => family is Qwen35Family;

    /// <summary>The sections _Qwen35MRopeMixin writes when config.json has no mrope_section.</summary>
    static readonly int[] DefaultSections = [11, 11, 10, 0];

    static LinearAttention Linear(ModelConfig c) =>
        c.LinearAttention ?? throw new QuantTuneException("qwen35 export needs the linear-attention config (linear_* keys)");

    /// <summary>The four sections written: config.json's mrope_section padded with zeros, else the converter's default.</summary>
    static int[] Sections(ModelConfig c) =>
        c.RopeSections is { } s ? s.Concat(Enumerable.Repeat(0, Math.Max(0, 4 - s.Count))).Take(4).ToArray() : DefaultSections;

    /// <summary>
    /// Refuses what llama.cpp's qwen35 would load differently or not at all: value heads of another size than the key
    /// heads, attention biases, RoPE sections under which some rotated pair takes the fourth (zero) position.
    /// </summary>
    public override void CheckRepresentable(ModelConfig config, string directory)
    {
        base.CheckRepresentable(config, directory);
        string file = Path.Combine(directory, "config.json");
        var la = Linear(config);
        if (la.ValueHeadDim != la.KeyHeadDim)
            throw new InvalidFormatException(file, "linear_value_head_dim",
                $"is {la.ValueHeadDim}; llama.cpp's qwen35 takes the value head size to be the key head size (linear_key_head_dim, {la.KeyHeadDim}), so a GGUF would not load");
        if (config.QkvBias || config.OutputBias)
            throw new InvalidFormatException(file, "attention_bias", "is true; llama.cpp's qwen35 has no attention biases, so a GGUF would not load");
        int pairs = config.RotaryDimOf(config.HeadDim) / 2;
        int[] s = Sections(config);
        int total = s.Sum();
        bool covered = total > 0 && total <= pairs && Enumerable.Range(0, pairs).All(k => (k % total) switch
        {
            var r when r % 3 == 1 => r < 3 * s[1],
            var r when r % 3 == 2 => r < 3 * s[2],
            var r => r < 3 * s[0],
        });
        if (!covered)
            throw new InvalidFormatException(file, "rope_parameters.mrope_section",
                $"is [{string.Join(", ", s)}]; llama.cpp's interleaved M-RoPE needs sections summing to at most the {pairs} rotated pairs and giving each pair the temporal, height or width position (text has 0 on the fourth axis), so a GGUF would compute other logits");
    }

    /// <summary>TextModel's keys, then the sections, rotated dimensions and the Gated DeltaNet's sizes and layers.</summary>
    public override IEnumerable<(string Key, GgufValue Value)> Hyperparameters(ModelConfig c)
    {
        foreach (var kv in base.Hyperparameters(c)) yield return kv;
        var la = Linear(c);
        yield return (Key("rope.dimension_sections"), GgufValue.Of(Sections(c)));
        yield return (Key("ssm.conv_kernel"), GgufValue.Of((uint)la.ConvKernel));
        yield return (Key("ssm.state_size"), GgufValue.Of((uint)la.KeyHeadDim));
        yield return (Key("ssm.group_count"), GgufValue.Of((uint)la.NumKeyHeads));
        yield return (Key("ssm.time_step_rank"), GgufValue.Of((uint)la.NumValueHeads));
        yield return (Key("ssm.inner_size"), GgufValue.Of((uint)la.ValueDim));
        yield return (Key("attention.recurrent_layers"), GgufValue.ArrayOf(GgufValueType.Bool, la.Layers.ToArray()));
        yield return (Key("full_attention_interval"), GgufValue.Of((uint)Interval(la.Layers)));
        yield return (Key("rope.dimension_count"), GgufValue.Of((uint)c.RotaryDimOf(c.HeadDim)));
    }

    /// <summary>The interval whose every n-th layer is the full-attention one, where the layers follow one; else 4 (Qwen3.5's default).</summary>
    static int Interval(IReadOnlyList<bool> layers) =>
        Enumerable.Range(1, layers.Count).FirstOrDefault(n => layers.Select((linear, i) => linear == ((i + 1) % n != 0)).All(x => x)) is int found and > 0 ? found : 4;

    static readonly (string Hf, string Gguf)[] LayerParts =
    [
        ("post_attention_layernorm.weight", "post_attention_norm.weight"),
        ("linear_attn.in_proj_qkv.weight", "attn_qkv.weight"),
        ("linear_attn.in_proj_z.weight", "attn_gate.weight"),
        ("linear_attn.in_proj_b.weight", "ssm_beta.weight"),
        ("linear_attn.in_proj_a.weight", "ssm_alpha.weight"),
        ("linear_attn.conv1d.weight", "ssm_conv1d.weight"),
        ("linear_attn.dt_bias", "ssm_dt.bias"),
        ("linear_attn.A_log", "ssm_a"),
        ("linear_attn.norm.weight", "ssm_norm.weight"),
        ("linear_attn.out_proj.weight", "ssm_out.weight"),
    ];

    [GeneratedRegex(@"^model\.layers\.(\d+)\.(.+)$")]
    private static partial Regex HfLayer();

    [GeneratedRegex(@"^blk\.(\d+)\.(.+)$")]
    private static partial Regex GgufLayer();

    /// <inheritdoc/>
    public override string? TensorName(string hf)
    {
        var m = HfLayer().Match(hf);
        if (m.Success && LayerParts.FirstOrDefault(p => p.Hf == m.Groups[2].Value).Gguf is string g) return $"blk.{m.Groups[1].Value}.{g}";
        return base.TensorName(hf);
    }

    /// <inheritdoc/>
    public override string? HfName(string gguf, ModelConfig config)
    {
        var m = GgufLayer().Match(gguf);
        if (m.Success && LayerParts.FirstOrDefault(p => p.Gguf == m.Groups[2].Value).Hf is string h) return $"model.layers.{m.Groups[1].Value}.{h}";
        return base.HfName(gguf, config);
    }

    /// <summary>The conv1d kernel squeezed to [C, K].</summary>
    public override long[] GgufShape(string gguf, long[] shape) =>
        Part(gguf) == "ssm_conv1d.weight" && shape.Length == 3 && shape[1] == 1 ? [shape[0], shape[2]] : shape;

    /// <summary>The tensor's name after <c>blk.N.</c>, or the whole name.</summary>
    static string Part(string gguf) => GgufLayer().Match(gguf) is { Success: true } m ? m.Groups[2].Value : gguf;

    /// <summary>Qwen3_5RMSNorm's weights (all norms but ssm_norm), stored + 1.</summary>
    static bool IsOffsetNorm(string gguf) => gguf.EndsWith("norm.weight", StringComparison.Ordinal) && Part(gguf) != "ssm_norm.weight";

    /// <summary>Norms + 1, ssm_a = −exp(A_log), value heads in ggml's tiled order.</summary>
    public override float[] ToGguf(string gguf, long[] shape, float[] values, ModelConfig config)
    {
        if (IsOffsetNorm(gguf))
            for (int i = 0; i < values.Length; i++) values[i] += 1f;
        if (Part(gguf) == "ssm_a")
            for (int i = 0; i < values.Length; i++) values[i] = -MathF.Exp(values[i]);
        return Reorder(gguf, values, config, toGguf: true);
    }

    /// <summary>Norms − 1, A_log = ln(−ssm_a), value heads back in HF's grouped order.</summary>
    public override float[] ToHf(string gguf, long[] shape, float[] values, ModelConfig config)
    {
        values = Reorder(gguf, values, config, toGguf: false);
        if (IsOffsetNorm(gguf))
            for (int i = 0; i < values.Length; i++) values[i] -= 1f;
        if (Part(gguf) == "ssm_a")
            for (int i = 0; i < values.Length; i++) values[i] = MathF.Log(-values[i]);
        return values;
    }

    /// <summary>Not the norms + 1, ssm_a, nor the tensors whose value heads are reordered.</summary>
    public override bool ReadsUnchanged(string gguf, ModelConfig config) =>
        !IsOffsetNorm(gguf) && Part(gguf) != "ssm_a" && ValueAxis(gguf, config) is null;

    /// <summary>Where only rows move (attn_qkv, attn_gate, ssm_beta, ssm_alpha): for each HF row, the GGUF row it comes from.</summary>
    public override int[]? HfRowSources(string gguf, long[] shape, ModelConfig config) =>
        ValueAxis(gguf, config) is { Columns: false } axis && Part(gguf) != "ssm_conv1d.weight" && shape.Length == 2 ? axis.HfSources((int)shape[0]) : null;

    /// <summary>
    /// The value-head axis of a tensor the converter reorders, when key and value head counts differ: its rows (from
    /// <see cref="ValueAxisOrder.Offset"/> on, in heads of <see cref="ValueAxisOrder.HeadSize"/>) or, for ssm_out, its columns.
    /// </summary>
    static ValueAxisOrder? ValueAxis(string gguf, ModelConfig config)
    {
        if (config.LinearAttention is not { } la || la.NumKeyHeads == la.NumValueHeads) return null;
        var (offset, headSize, columns) = Part(gguf) switch
        {
            "attn_qkv.weight" or "ssm_conv1d.weight" => (2 * la.KeyDim, la.ValueHeadDim, false),
            "attn_gate.weight" => (0, la.ValueHeadDim, false),
            "ssm_beta.weight" or "ssm_alpha.weight" or "ssm_dt.bias" or "ssm_a" => (0, 1, false),
            "ssm_out.weight" => (0, la.ValueHeadDim, true),
            _ => (-1, 0, false),
        };
        return offset < 0 ? null : new ValueAxisOrder(offset, headSize, la.NumKeyHeads, la.NumValueHeads / la.NumKeyHeads, columns);
    }

    static float[] Reorder(string gguf, float[] values, ModelConfig config, bool toGguf)
    {
        if (ValueAxis(gguf, config) is not { } axis) return values;
        // Rows of [rows, width] (or columns of ssm_out [hidden, value channels]); 1-D tensors are rows of width 1.
        int width = axis.Columns ? Linear(config).ValueDim : values.Length / RowsOf(gguf, config);
        return axis.Apply(values, width, toGguf);
    }

    /// <summary>The row count of a row-reordered tensor: its value rows after the offset, in heads.</summary>
    static int RowsOf(string gguf, ModelConfig config)
    {
        var la = Linear(config);
        return Part(gguf) switch
        {
            "attn_qkv.weight" or "ssm_conv1d.weight" => la.ConvDim,
            "attn_gate.weight" => la.ValueDim,
            _ => la.NumValueHeads,
        };
    }

    /// <summary>
    /// _LinearAttentionVReorderBase._reorder_v_heads along one axis: from <see cref="Offset"/> on, <see cref="KeyHeads"/>
    /// groups of <see cref="PerKey"/> heads of <see cref="HeadSize"/> (HF: index (k, r, d)) become <see cref="PerKey"/>
    /// groups of <see cref="KeyHeads"/> (GGUF: index (r, k, d)).
    /// </summary>
    sealed record ValueAxisOrder(int Offset, int HeadSize, int KeyHeads, int PerKey, bool Columns)
    {
        /// <summary>For HF index i along the axis, the GGUF index it is written at.</summary>
        public int GgufIndex(int i)
        {
            if (i < Offset) return i;
            int j = i - Offset, d = j % HeadSize, head = j / HeadSize, k = head / PerKey, r = head % PerKey;
            return Offset + (r * KeyHeads + k) * HeadSize + d;
        }

        /// <summary>For each HF row, the GGUF row it comes from.</summary>
        public int[] HfSources(int rows) => Enumerable.Range(0, rows).Select(GgufIndex).ToArray();

        /// <summary><paramref name="values"/> ([n, width] row-major) with the axis (rows, or columns when <see cref="Columns"/>) reordered.</summary>
        public float[] Apply(float[] values, int width, bool toGguf)
        {
            var result = new float[values.Length];
            int rows = values.Length / width;
            for (int row = 0; row < rows; row++)
                for (int col = 0; col < width; col++)
                {
                    int hfRow = row, hfCol = col, gRow = Columns ? row : GgufIndex(row), gCol = Columns ? GgufIndex(col) : col;
                    if (toGguf) result[gRow * width + gCol] = values[hfRow * width + hfCol];
                    else result[hfRow * width + hfCol] = values[gRow * width + gCol];
                }
            return result;
        }
    }

    /// <summary>
    /// TextModel's config with Qwen3.5's decoder: norms by 1 + w, q/k norms, the gated attention, RoPE on
    /// rope.dimension_count of each head with the file's sections, and the Gated DeltaNet from the ssm.* keys and
    /// attention.recurrent_layers (else full_attention_interval).
    /// </summary>
    public override ModelConfig ReadConfig(GgufFile file)
    {
        var c = base.ReadConfig(file);
        int rotary = OptInt(file, Key("rope.dimension_count")) ?? c.HeadDim / 4;
        if (rotary <= 0 || rotary > c.HeadDim || rotary % 2 != 0)
            throw new InvalidFormatException(file.Path, Key("rope.dimension_count"), $"is {rotary}; expected a positive even number up to the head size {c.HeadDim}");
        int valueHeads = Int(file, Key("ssm.time_step_rank")), keyHeads = Int(file, Key("ssm.group_count")), inner = Int(file, Key("ssm.inner_size"));
        if (keyHeads <= 0 || valueHeads <= 0 || valueHeads % keyHeads != 0)
            throw new InvalidFormatException(file.Path, Key("ssm.time_step_rank"), $"is {valueHeads}; expected a positive multiple of {Key("ssm.group_count")} ({keyHeads})");
        if (inner % valueHeads != 0)
            throw new InvalidFormatException(file.Path, Key("ssm.inner_size"), $"is {inner}; expected a multiple of {Key("ssm.time_step_rank")} ({valueHeads})");
        bool[] layers = file.OptionalArray<bool>(Key("attention.recurrent_layers"), GgufValueType.Bool) is { } recurrent
            ? recurrent.Take(c.NumLayers).ToArray()
            : Enumerable.Range(0, c.NumLayers).Select(i => (i + 1) % Math.Max(1, OptInt(file, Key("full_attention_interval")) ?? 4) != 0).ToArray();
        if (layers.Length != c.NumLayers)
            throw new InvalidFormatException(file.Path, Key("attention.recurrent_layers"), $"lists {layers.Length} layers; {Key("block_count")} is {c.NumLayers}");
        int[]? sections = file.OptionalArray<int>(Key("rope.dimension_sections"), GgufValueType.Int32);
        return c with
        {
            Norm = NormKind.OffsetOne,
            QkNorm = true,
            AttentionOutputGate = true,
            PartialRotaryFactor = (double)rotary / c.HeadDim,
            RopeSections = sections?.Reverse().SkipWhile(s => s == 0).Reverse().ToArray(),
            LinearAttention = new LinearAttention
            {
                NumKeyHeads = keyHeads,
                NumValueHeads = valueHeads,
                KeyHeadDim = Int(file, Key("ssm.state_size")),
                ValueHeadDim = inner / valueHeads,
                ConvKernel = Int(file, Key("ssm.conv_kernel")),
                Layers = layers,
            },
        };
    }

    /// <summary>TextModel's keys, and the linear attention's from the ssm.* keys.</summary>
    public override string KeyOf(string configField) => configField switch
    {
        "linear_num_key_heads" => Key("ssm.group_count"),
        "linear_num_value_heads" => Key("ssm.time_step_rank"),
        "linear_key_head_dim" => Key("ssm.state_size"),
        "linear_value_head_dim" => Key("ssm.inner_size"),
        "linear_conv_kernel_dim" => Key("ssm.conv_kernel"),
        _ => base.KeyOf(configField),
    };
}
