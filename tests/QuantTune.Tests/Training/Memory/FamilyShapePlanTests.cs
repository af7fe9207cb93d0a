using QuantTune.Models.Config;
using QuantTune.Models.Transformer;
using QuantTune.SideTuning;
using QuantTune.Training.Memory;
using static TorchSharp.torch;

namespace QuantTune.Tests.Training.Memory;

/// <summary>The planner counts each family's own pieces (q/k norms, Gemma's four norms per layer, in the QST side layers too): its parameter counts equal the built models'.</summary>
public sealed class FamilyShapePlanTests
{
    [Theory]
    [InlineData("tiny-qwen3")]
    [InlineData("tiny-gemma3")]
    [InlineData("tiny-gemma2")]
    [InlineData("tiny-phi3")]
    public void PlannedParametersEqualTheBuiltModelsForFullAndQst(string fixture)
    {
        var config = ModelConfig.Load(TestData.Fixture(fixture));
        using var model = new CausalLM(config, ScalarType.Float32, CPU);
        Assert.Equal(model.ParameterCount(), MemoryPlanner.Plan(new PlanRequest(config, "full", 1, 16)).TrainableParameters);
        var qst = new QstConfig { Reduction = 16 };
        using var side = new SideNetwork(config, qst, seed: 1);
        Assert.Equal(side.parameters().Sum(p => p.numel()), MemoryPlanner.Plan(new PlanRequest(config, "qst", 1, 16) { Qst = qst }).TrainableParameters);
    }
}
