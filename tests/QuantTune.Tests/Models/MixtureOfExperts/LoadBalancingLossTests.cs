using QuantTune.Models.Loading;
using QuantTune.Models.Transformer;
using QuantTune.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models.MixtureOfExperts;

/// <summary>
/// The load-balancing loss on tiny-qwen3-moe's router logits equals load_balancing_loss_func
/// computed by the NumPy port (reference.json's router_aux_loss), without a mask and with padding
/// masked out; in training its gradient, times router_aux_loss_coef, joins the chunked LM loss's.
/// </summary>
public sealed class LoadBalancingLossTests(ITestOutputHelper output) : IDisposable
{
    readonly PretrainedModel _model = PretrainedModel.Load(TestData.TinyQwen3MoeDir);
    readonly ReferenceOutputs _reference = new(TestData.TinyQwen3MoeDir);

    System.Text.Json.JsonElement Expected => _reference.Json.GetProperty("router_aux_loss");

    [Fact]
    public void OneSequenceGivesTheReferencesLoss()
    {
        var aux = RouterAuxLoss.For(_model.Model)!;
        Assert.Equal(0.001, aux.Coefficient);
        using var scope = NewDisposeScope();
        using var recording = aux.Record();
        using (no_grad()) _model.Model.Forward(_reference.Get("input_ids.0").unsqueeze(0));
        double value = recording.Loss(null).item<float>();
        double expected = Expected.GetProperty("sequence_0").GetDouble();
        output.WriteLine($"aux loss {value:F6} (reference {expected:F6})");
        Assert.True(Math.Abs(value - expected) < 1e-5 * expected, $"{value} vs {expected}");
    }

    [Fact]
    public void PaddingMaskedOutGivesTheReferencesLoss()
    {
        var batch = Expected.GetProperty("batch");
        int padding = batch.GetProperty("padding").GetInt32();
        using var scope = NewDisposeScope();
        var ids = stack([_reference.Get("input_ids.0"), _reference.Get("input_ids.1")]);
        // Whatever the padding positions hold, they are masked out of both means.
        ids[1, TensorIndex.Slice(64 - padding)] = tensor(0L);
        var mask = ones_like(ids);
        mask[1, TensorIndex.Slice(64 - padding)] = tensor(0L);
        using var recording = RouterAuxLoss.For(_model.Model)!.Record();
        using (no_grad()) _model.Model.Forward(ids);
        double value = recording.Loss(mask).item<float>();
        double unmasked = recording.Loss(null).item<float>();
        double expected = batch.GetProperty("value").GetDouble();
        output.WriteLine($"aux loss {value:F6} (reference {expected:F6}; {unmasked:F6} counting the padding)");
        Assert.True(Math.Abs(value - expected) < 1e-5 * expected, $"{value} vs {expected}");
        Assert.True(Math.Abs(unmasked - expected) > 1e-3, "the mask changes nothing");
    }

    [Fact]
    public void TheTrainingGradientIsTheLmLossPlusTheCoefficientTimesTheAuxLoss()
    {
        var model = _model.Model;
        var router = ((SparseMoeBlock)model.model.layers[0].mlp).gate.weight;
        foreach (var p in model.parameters()) p.requires_grad = false;
        router.requires_grad = true;
        var aux = RouterAuxLoss.For(model)!;
        using var scope = NewDisposeScope();
        var ids = _reference.Get("input_ids.0").unsqueeze(0).narrow(1, 0, 32);
        var labels = _reference.Get("input_ids.0").unsqueeze(0).narrow(1, 1, 32);
        Tensor Gradient(Action<Tensor, Tensor?> backward, bool withAux)
        {
            router.grad?.zero_();
            using var recording = aux.Record();
            var hidden = model.model.Forward(ids);
            backward(hidden, withAux ? recording.Loss(null) : null);
            return router.grad!.clone();
        }
        // Chunked as the trainer runs it (4 positions a chunk), and in one piece through autograd.
        var chunked = Gradient((h, a) => ChunkedLoss.Backward(h, model.Head, labels, 1.0, chunkPositions: 4, auxiliary: (a!, aux.Coefficient)), true);
        var whole = Gradient((h, a) => (nn.functional.cross_entropy(model.Head(h).reshape(-1, model.Config.VocabSize), labels.reshape(-1)) + aux.Coefficient * a!).backward(), true);
        var lmOnly = Gradient((h, _) => ChunkedLoss.Backward(h, model.Head, labels, 1.0, chunkPositions: 4), false);
        double error = (chunked - whole).abs().max().item<float>();
        double auxShare = (whole - lmOnly).abs().max().item<float>();
        output.WriteLine($"router gradient: chunked vs whole {error:E2}; the aux loss's share {auxShare:E2}");
        Assert.True(auxShare > 1e-6, "the aux loss adds no gradient");
        Assert.True(error < auxShare / 100, $"chunked and whole gradients differ by {error}");
    }

    public void Dispose()
    {
        _model.Dispose();
        _reference.Dispose();
    }
}
