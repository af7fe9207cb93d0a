using static TorchSharp.torch;

namespace QuantTune.Training;

/// <summary>
/// A model's forward pass in the two parts the loss needs apart: the final hidden states
/// [B, T, H] of token ids [B, T], and the LM head that turns hidden states into logits. With
/// them the loss runs the head over a chunk of positions at a time (<see cref="ChunkedLoss"/>),
/// so that the [B, T, vocabulary] logits never exist whole.
/// </summary>
public sealed record LanguageModelForward(Func<Tensor, Tensor> Hidden, Func<Tensor, Tensor> Head)
{
    /// <summary>The load-balancing loss of a mixture-of-experts model, added to the training loss; null for a dense model.</summary>
    public RouterAuxLoss? AuxLoss { get; init; }

    /// <summary>All logits at once [B, T, V]: for inference and tests, not for the loss.</summary>
    public Tensor Logits(Tensor ids)
    {
        using var scope = NewDisposeScope();
        return Head(Hidden(ids)).MoveToOuterDisposeScope();
    }
}
