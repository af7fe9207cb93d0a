using QuantTune.Models.Config;
using QuantTune.Models.Transformer;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using QuantTune.SideTuning;
using QuantTune.Training.Memory;
using static TorchSharp.torch;

namespace QuantTune.Tests.Training.Memory;

/// <summary>The planner counts each family's own pieces (q/k norms, Gemma's four norms per layer, in the QST side layers too; biases; GPT-2's LayerNorms, plain MLP and position table): its parameter counts (full, QST, LoRA on every linear layer) equal the built models'.</summary>
public sealed class FamilyShapePlanTests
{
    [Theory]
    [InlineData("tiny-qwen3")]
    [InlineData("tiny-gemma3")]
    [InlineData("tiny-gemma2")]
    [InlineData("tiny-phi3")]
    [InlineData("tiny-gpt2")]
    [InlineData("tiny-qwen2")]
    public void PlannedParametersEqualTheBuiltModelsForFullQstAndLora(string fixture)
    {
        var config = ModelConfig.Load(TestData.Fixture(fixture));
        using var model = new CausalLM(config, ScalarType.Float32, CPU);
        Assert.Equal(model.ParameterCount(), MemoryPlanner.Plan(new PlanRequest(config, "full", 1, 16)).TrainableParameters);
        var qst = new QstConfig { Reduction = 16 };
        using var side = new SideNetwork(config, qst, seed: 1);
        Assert.Equal(side.parameters().Sum(p => p.numel()), MemoryPlanner.Plan(new PlanRequest(config, "qst", 1, 16) { Qst = qst }).TrainableParameters);
        using var lora = new CausalLM(config, ScalarType.Float32, CPU);
        LoraModel.Apply(lora, new LoraConfig { R = 4, TargetModules = PeftTargets.AllLinearLayers }, seed: 1);
        Assert.Equal(lora.parameters().Where(p => p.requires_grad).Sum(p => p.numel()), MemoryPlanner.Plan(new PlanRequest(config, "lora", 1, 16) { LoraRank = 4 }).TrainableParameters);
    }
}
