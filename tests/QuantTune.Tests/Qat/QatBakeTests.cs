using QuantTune.Models.Loading;
using QuantTune.Qat;
using QuantTune.Training.FineTuning;
using TorchSharp;

namespace QuantTune.Tests.Qat;

/// <summary>The end of a full QAT run replaces each fake-quantized layer and frees it: no tensor is left per layer.</summary>
[Collection(SerialCollection.Name)]
public sealed class QatBakeTests
{
    [Theory]
    [InlineData("int8")]
    [InlineData("bitnet158")]
    public void BakingLeavesNoTensorOfTheReplacedLayers(string kind)
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        new QatSpec(kind).Apply(pm.Model);
        var fake = pm.Model.modules().OfType<FakeQuantLinear>().ToList();
        Assert.NotEmpty(fake);
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        QatSetup.Bake(pm.Model);
        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.Empty(pm.Model.modules().OfType<FakeQuantLinear>());
        Assert.All(fake, q => Assert.True(q.weight.IsInvalid));
        // Each layer's new weight (and bias) takes the place of the old one; a leak would add one tensor per layer.
        Assert.True(after <= before, $"{after - before} more tensors alive after baking {fake.Count} layers");
    }
}
