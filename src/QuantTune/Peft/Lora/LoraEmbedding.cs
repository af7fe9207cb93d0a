using QuantTune.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using Embedding = QuantTune.Models.Layers.Embedding;
using Parameter = TorchSharp.Modules.Parameter;

namespace QuantTune.Peft.Lora;

/// <summary>
/// LoRA on the token embedding, as PEFT's <c>lora.Embedding</c>: rows(ids) + s·(Aᵀ[ids])·Bᵀ with
/// A [r, vocab] and B [hidden, r] (PEFT's <c>lora_embedding_A</c> and <c>lora_embedding_B</c>, saved
/// under those names without ".weight"). A fresh adapter starts with A = 0 and B ~ N(0, 1), as PEFT
/// initialises an embedding, so it begins as a no-op. PEFT applies no dropout here. The table itself
/// (the same Parameter as before) stays frozen; a tied LM head keeps reading it unchanged, as in PEFT.
/// </summary>
public sealed class LoraEmbedding : Embedding
{
    public Parameter lora_embedding_A, lora_embedding_B;

    public int Rank { get; }
    public double Scaling { get; }

    public LoraEmbedding(Embedding table, int r, double alpha, bool useRsLora, ScalarType dtype, Generator? generator) : base(table.weight)
    {
        if (r <= 0) throw new ArgumentOutOfRangeException(nameof(r), r, "the rank must be positive");
        Rank = r;
        Scaling = useRsLora ? alpha / Math.Sqrt(r) : alpha / r;
        weight.requires_grad = false;
        long vocab = weight.shape[0], hidden = weight.shape[1];
        lora_embedding_A = new Parameter(zeros([r, vocab], dtype, weight.device));
        lora_embedding_B = new Parameter(randn([hidden, r], dtype, weight.device, generator: generator));
        RegisterComponents();
    }

    /// <summary>PEFT's <c>disable_adapter()</c>: while set, forward is the table's rows alone.</summary>
    public bool AdapterDisabled { get; set; }

    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var rows = base.forward(ids);
        if (AdapterDisabled) return rows.MoveToOuterDisposeScope();
        var afterA = lora_embedding_A.t().index_select(0, ids.reshape(-1)).view([.. ids.shape, Rank]);
        var delta = afterA.matmul(lora_embedding_B.t()).Times(Scaling);
        return rows.Plus(delta.to_type(rows.dtype)).MoveToOuterDisposeScope();
    }

    /// <summary>PEFT's <c>get_delta_weight</c> for an embedding: (B·A)ᵀ·s, [vocab, hidden].</summary>
    public Tensor DeltaWeight() => matmul(lora_embedding_B, lora_embedding_A).t().Times(Scaling);

    /// <summary>Folds the update into the table and returns a plain embedding over it.</summary>
    public Embedding Merge()
    {
        using (var scope = NewDisposeScope())
        using (no_grad())
            weight.copy_(weight.to_type(ScalarType.Float32).Plus(DeltaWeight().to_type(ScalarType.Float32)));
        return new Embedding(weight);
    }
}
