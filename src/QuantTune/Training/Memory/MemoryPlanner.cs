using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.SideTuning;

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
}

/// <summary>A predicted breakdown (bytes), as in the QST paper: M1 weights, M2 optimizer state and gradients, M3 activations.</summary>
public sealed record MemoryPlan(string Method, long TrainableParameters, long M1, long M2, long M3, long Peak)
{
    public bool Fits(long budgetBytes) => Peak <= budgetBytes;
}

/// <summary>
/// Predicts the memory of fine-tuning a decoder-only model with full fine-tuning, LoRA, QLoRA
/// or QST (DESIGN.md §1): weights from the parameter counts and storage formats (NF4 with double
/// quantization: 4.127 bits), optimizer state as gradient + two Adam moments per trainable (fp32 for adapters and side networks,
/// parameter (3× the weights' bytes for full fine-tuning), activations from the tensors each layer keeps for backward in this implementation.
/// </summary>
public static class MemoryPlanner
{
    public static readonly string[] Methods = ["full", "lora", "qlora", "qst"];
    const double Nf4BytesPerWeight = 4.127 / 8;

    public static MemoryPlan Plan(PlanRequest r)
    {
        var c = r.Model;
        long h = c.HiddenSize, i = c.IntermediateSize, v = c.VocabSize, d = c.HeadDim, heads = c.NumHeads, kv = c.NumKvHeads, L = c.NumLayers;
        long attnParams = h * heads * d + 2 * h * kv * d + heads * d * h;
        long mlpParams = 3 * h * i;
        long linear = L * (attnParams + mlpParams);
        long other = v * h * (c.TieWordEmbeddings ? 1 : 2) + (2 * L + 1) * h;
        long tokens = (long)r.Batch * r.Sequence;
        int e = r.ElementBytes;
        long logits = tokens * v * 4 * 2; // fp32 logits and their log-softmax, kept by cross-entropy

        switch (r.Method)
        {
            case "full":
            {
                long trainable = linear + other;
                long m1 = trainable * e;
                long m2 = trainable * 3L * e; // gradient + two Adam moments in the weights' dtype (the paper's 3×)
                long m3 = L * LayerActivations(c, tokens, e, r.Sequence, r.AttentionProbabilitiesKept) + logits;
                return new MemoryPlan(r.Method, trainable, m1, m2, m3, m1 + m2 + m3 + logits / 2);
            }
            case "lora" or "qlora":
            {
                long rank = r.LoraRank;
                long loraPerLayer = rank * ((h + heads * d) + 2 * (h + kv * d) + (heads * d + h) + 2 * (h + i) + (i + h));
                long trainable = L * loraPerLayer;
                long m1 = (r.Method == "lora" ? (linear + other) * e : (long)(linear * Nf4BytesPerWeight) + other * e) + trainable * 4;
                long m2 = trainable * 12;
                // LoRA keeps, per target, its (dropped-out) input and the r-dimensional A output on top of the layer's own tensors.
                long loraActivations = tokens * e * (4 * h + heads * d + 2 * i + 7 * rank);
                long m3 = L * (LayerActivations(c, tokens, e, r.Sequence, r.AttentionProbabilitiesKept) + loraActivations) + logits;
                return new MemoryPlan(r.Method, trainable, m1, m2, m3, m1 + m2 + m3 + logits / 2);
            }
            case "qst":
            {
                var side = r.Qst.SideConfig(c);
                int fed = r.Qst.LayersOf(c).Count;
                long hs = side.HiddenSize, iS = side.IntermediateSize, ds = side.HeadDim, b = r.Qst.Bottleneck;
                long downsampler = r.Qst.Downsampler switch
                {
                    DownsamplerKind.Adapter => h * b + b + b * hs + hs + 2 * hs,
                    DownsamplerKind.Linear => h * hs + hs,
                    DownsamplerKind.Lora => h * b + b * hs,
                    _ => 0,
                };
                long sideLayer = hs * heads * ds + 2 * hs * kv * ds + heads * ds * hs + 3 * hs * iS + 2 * hs;
                long trainable = (fed + 1) * downsampler + fed * sideLayer + fed * hs + h + hs + hs * h + h;
                long m1 = (long)(linear * Nf4BytesPerWeight) + other * e + trainable * 4;
                long m2 = trainable * 12;
                // The backbone keeps nothing; each downsampler keeps its fp32 input (the backbone state) and bottleneck;
                // the side layers keep the layer tensors at width h/r; the output mix keeps two h-wide tensors.
                long downsamplerActivations = tokens * 4 * (h + 3 * b + 3 * hs);
                long sideActivations = LayerActivations(side, tokens, 4, r.Sequence, r.AttentionProbabilitiesKept);
                long m3 = (fed + 1) * downsamplerActivations + fed * sideActivations + tokens * 4 * 3 * h + logits;
                return new MemoryPlan(r.Method, trainable, m1, m2, m3, m1 + m2 + m3 + logits / 2);
            }
            default:
                throw new QuantTuneException($"--method {r.Method}: expected one of {string.Join(", ", Methods)}");
        }
    }

    /// <summary>
    /// Bytes one decoder layer keeps for backward: the RMSNorm inputs, the normed inputs of the
    /// projections, rotated queries and keys, values, the attention output, and the MLP's gate,
    /// up, activation and product; plus the attention probabilities where the kernel keeps them.
    /// </summary>
    static long LayerActivations(ModelConfig c, long tokens, int e, int sequence, bool probabilities)
    {
        long h = c.HiddenSize, i = c.IntermediateSize, qd = c.NumHeads * c.HeadDim, kvd = c.NumKvHeads * c.HeadDim;
        long perToken = e * (4 * h + 3 * qd + 3 * kvd + 4 * i) + 4 * 2; // + fp32 RMSNorm statistics
        long attention = probabilities ? tokens * c.NumHeads * sequence * 4 : 0;
        return tokens * perToken + attention;
    }
}
