using QuantTune.Models.Loading;
using Spectre.Console;

namespace QuantTune.Cli.Rendering;

public static class ModelSummaryView
{
    public static object ToJson(ModelSummary s) => new
    {
        directory = s.Directory,
        model_type = s.Config.ModelType,
        layers = s.Config.NumLayers,
        hidden_size = s.Config.HiddenSize,
        intermediate_size = s.Config.IntermediateSize,
        attention_heads = s.Config.NumHeads,
        kv_heads = s.Config.NumKvHeads,
        head_dim = s.Config.HeadDim,
        vocab_size = s.Config.VocabSize,
        rope = new { theta = s.Config.Rope.Theta, type = s.Config.Rope.Type, factor = s.Config.Rope.Factor },
        tied_embeddings = s.Config.TieWordEmbeddings,
        qkv_bias = s.Config.QkvBias,
        family_differences = Differences(s.Config),
        parameters = s.Parameters,
        tensors = s.TensorCount,
        weight_bytes = s.WeightBytes,
        file_bytes = s.FileBytes,
        shards = s.Shards,
        dtypes = s.ByDType.ToDictionary(kv => kv.Key, kv => new { tensors = kv.Value.Tensors, parameters = kv.Value.Parameters, bytes = kv.Value.Bytes }),
    };

    public static void Render(ModelSummary s)
    {
        var c = s.Config;
        var grid = new Grid().AddColumn().AddColumn();
        void Row(string k, string v) => grid.AddRow(new Markup($"[grey]{k}[/]"), new Text(v));
        Row("folder", s.Directory);
        Row("architecture", $"{c.ModelType}: {c.NumLayers} layers, hidden {c.HiddenSize}, MLP {c.IntermediateSize} ({c.HiddenAct})");
        Row("attention", $"{c.NumHeads} heads × {c.HeadDim}, {c.NumKvHeads} KV heads" + (c.KvGroups > 1 ? $" (GQA, {c.KvGroups} per group)" : "") + (c.QkvBias ? ", q/k/v bias" : ""));
        Row("RoPE", $"θ = {c.Rope.Theta:G}, {c.Rope.Type}" + (c.Rope.Type != "default" ? $" ×{c.Rope.Factor}" : "") + (c.LocalRope is { } local ? $"; sliding layers θ = {local.Theta:G}" : ""));
        if (Differences(c) is { Count: > 0 } differences) Row("family", string.Join(", ", differences));
        Row("vocabulary", $"{c.VocabSize}" + (c.TieWordEmbeddings ? " (LM head tied to the embedding)" : ""));
        Row("parameters", $"{s.Parameters:N0} in {s.TensorCount} tensors");
        Row("weights", $"{Bytes(s.WeightBytes)} in {s.Shards} file(s) ({Bytes(s.FileBytes)} on disk)");
        AnsiConsole.Write(new Panel(grid).Header("model").Expand());
        var table = new Table().AddColumns("dtype", "tensors", "parameters", "bytes");
        foreach (var (dtype, v) in s.ByDType.OrderByDescending(kv => kv.Value.Bytes))
            table.AddRow(dtype, v.Tensors.ToString(), v.Parameters.ToString("N0"), Bytes(v.Bytes));
        AnsiConsole.Write(table);
    }

    /// <summary>What the model's family changes on the shared decoder, in words (empty for Llama's).</summary>
    public static List<string> Differences(QuantTune.Models.Config.ModelConfig c)
    {
        var d = new List<string>();
        if (c.QkNorm) d.Add(c.QkNormOver == QuantTune.Models.Config.QkNormScope.Projection ? "q/k norms over the whole projections" : "q/k norms");
        if (c.Norm == QuantTune.Models.Config.NormKind.OffsetOne) d.Add("RMSNorm x·(1+w)");
        if (c.Placement == QuantTune.Models.Config.NormPlacement.Sandwich) d.Add("4 norms per layer");
        if (c.Placement == QuantTune.Models.Config.NormPlacement.Post) d.Add("norms after attention and MLP, none before");
        if (c.RopeLayers is { } rope && c.Positions == QuantTune.Models.Config.PositionKind.Rotary)
            d.Add($"no RoPE in layers {string.Join(", ", Enumerable.Range(0, rope.Count).Where(l => !rope[l]))}");
        if (c.ScaleEmbedding) d.Add("embedding ×√hidden");
        if (c.QueryPreAttentionScalar is double q) d.Add($"attention scale {q:G}^-½");
        if (c.EmbeddingMultiplier is double em && em != 1) d.Add($"embedding ×{em:G}");
        if (c.ResidualMultiplier is double rm && rm != 1) d.Add($"attention and MLP outputs ×{rm:G} before the residual");
        if (c.AttentionMultiplier is double am) d.Add($"attention scale {am:G} (head_dim^-½ would be {1 / Math.Sqrt(c.HeadDim):G4})");
        if (c.LogitsScaling is double ls && ls != 1) d.Add($"logits ÷{ls:G}");
        if (c.AttentionSoftcap is double a) d.Add($"attention soft-cap {a:G}");
        if (c.FinalLogitSoftcap is double f) d.Add($"final soft-cap {f:G}");
        if (c.Norm == QuantTune.Models.Config.NormKind.LayerNorm) d.Add("LayerNorm with bias");
        if (c.Positions == QuantTune.Models.Config.PositionKind.Learned) d.Add($"learned positions ({c.MaxPositionEmbeddings}), no RoPE");
        if (c.Mlp == QuantTune.Models.Config.MlpKind.Plain) d.Add($"plain MLP ({c.Names.Up} → {c.HiddenAct} → {c.Names.Down})");
        if (c.Projections == QuantTune.Models.Config.ProjectionLayout.Fused)
            d.Add(c.Mlp == QuantTune.Models.Config.MlpKind.Plain ? $"fused {c.Names.Qkv}" : $"fused {c.Names.Qkv} and gate_up_proj");
        if (c.Conv1DWeights) d.Add("Conv1D weights [in, out]");
        if (c.PartialRotaryFactor < 1) d.Add($"RoPE on {c.RotaryDimOf(c.HeadDim)} of {c.HeadDim} head dimensions");
        if (c.Rope.Type == "longrope") d.Add($"LongRoPE (long factors past {c.Rope.OriginalMaxPositionEmbeddings} positions, attention factor {c.Rope.AttentionFactor:G4})");
        if (c.LinearAttention is { } la)
            d.Add($"Gated DeltaNet linear attention on {Enumerable.Range(0, c.NumLayers).Count(c.IsLinearAttention)} of {c.NumLayers} layers: " +
                $"{la.NumKeyHeads} key heads × {la.KeyHeadDim}, {la.NumValueHeads} value heads × {la.ValueHeadDim}, conv {la.ConvKernel}");
        if (c.AttentionOutputGate) d.Add("gated attention output");
        if (c.GlobalHeadDim is int g) d.Add($"full-attention heads of {g} (sliding ones {c.HeadDim})");
        if (c.Rope.Type == "yarn") d.Add($"YaRN RoPE (×{c.Rope.Factor:G} over {c.Rope.OriginalMaxPositionEmbeddings} original positions, attention factor {c.Rope.AttentionFactor:G4})");
        if (c.AttentionSinks) d.Add("a learned sink logit per head in every attention softmax");
        if (c.Rope.Type == "proportional") d.Add($"proportional RoPE on {c.Rope.RotatedFraction:G} of the full-attention heads' frequencies");
        if (c.GlobalKeysAsValues) d.Add($"keys as values on the full-attention layers ({c.GlobalKvHeads} key heads)");
        if (c.ValueNorm) d.Add("values RMS-normalised");
        if (c.KvSharedLayers > 0) d.Add($"the last {c.KvSharedLayers} layers attend over earlier layers' keys and values");
        if (c.PerLayerInputs is { } pli) d.Add($"per-layer inputs of {pli.Size}");
        if (c.LayerScalar) d.Add("layer_scalar on each layer's output");
        if (c.Experts is { } m)
        {
            int sparse = Enumerable.Range(0, c.NumLayers).Count(c.IsSparse);
            d.Add($"mixture of experts on {sparse} of {c.NumLayers} layers: {m.NumExperts} experts of width {m.ExpertIntermediateSize}, top-{m.ExpertsPerToken}" + (m.NormTopKProb ? " renormalised" : ""));
            if (m.ClampedActivation is { } clamp) d.Add($"experts with biases and the clamped SwiGLU (limit {clamp.Limit:G}, α {clamp.Alpha:G}), router with bias");
            if (m.Shared is { } shared) d.Add($"shared expert of width {shared.IntermediateSize}" + (shared.Gated ? ", sigmoid-gated" : "") + " on every sparse layer");
            if (m.BesideDenseMlp) d.Add($"the experts beside each layer's dense MLP (width {c.IntermediateSize}), routed with router.scale and per_expert_scale");
            if (m.RouterAuxLossCoef > 0) d.Add($"load-balancing loss × {m.RouterAuxLossCoef:G} in training");
        }
        if (c.SlidingWindow is int w)
            d.Add($"sliding window {w} on {Enumerable.Range(0, c.NumLayers).Count(c.IsSliding)} of {c.NumLayers} layers");
        return d;
    }

    public static string Bytes(long b) => b switch
    {
        >= 1L << 30 => $"{b / (double)(1L << 30):F2} GiB",
        >= 1L << 20 => $"{b / (double)(1L << 20):F2} MiB",
        >= 1L << 10 => $"{b / 1024.0:F1} KiB",
        _ => $"{b} B",
    };
}
