using QuantTune.Models.Config;
using QuantTune.Models.Transformer;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using QuantTune.SideTuning;
using QuantTune.Training.Memory;
using static TorchSharp.torch;

namespace QuantTune.Tests.Training.Memory;

/// <summary>The planner counts each family's own pieces (q/k norms, per head or over OLMo 2's whole projections, every expert and router of a mixture of experts and Qwen2-MoE's shared expert and its gate, Qwen3.5's Gated DeltaNet layers and gated q_proj, Gemma's four norms per layer, gpt-oss's sinks, in the QST side layers too; biases; GPT-2's LayerNorms, plain MLP and position table): its parameter counts (full, QST, LoRA on every linear layer) equal the built models', and so does the count a checkpoint's size is checked against (ModelDimensionLimits).</summary>
public sealed class FamilyShapePlanTests
{
    [Theory]
    [InlineData("tiny-qwen3")]
    [InlineData("tiny-qwen3-moe")]
    [InlineData("tiny-qwen2-moe")]
    [InlineData("tiny-mixtral")]
    [InlineData("tiny-qwen3.5")]
    [InlineData("tiny-gemma3")]
    [InlineData("tiny-gemma2")]
    [InlineData("tiny-phi3")]
    [InlineData("tiny-gpt2")]
    [InlineData("tiny-granite")]
    [InlineData("tiny-stablelm")]
    [InlineData("tiny-qwen2")]
    [InlineData("tiny-olmo2")]
    [InlineData("tiny-smollm3")]
    [InlineData("tiny-gpt-oss")]
    public void PlannedParametersEqualTheBuiltModelsForFullQstAndLora(string fixture)
    {
        var config = ModelConfig.Load(TestData.Fixture(fixture));
        using var model = new CausalLM(config, ScalarType.Float32, CPU);
        Assert.Equal(model.ParameterCount(), MemoryPlanner.Plan(new PlanRequest(config, "full", 1, 16)).TrainableParameters);
        Assert.Equal(model.ParameterCount(), ModelDimensionLimits.ParameterCount(config));
        var qst = new QstConfig { Reduction = 16 };
        using var side = new SideNetwork(config, qst, seed: 1);
        Assert.Equal(side.parameters().Sum(p => p.numel()), MemoryPlanner.Plan(new PlanRequest(config, "qst", 1, 16) { Qst = qst }).TrainableParameters);
        using var lora = new CausalLM(config, ScalarType.Float32, CPU);
        LoraModel.Apply(lora, new LoraConfig { R = 4, TargetModules = PeftTargets.AllLinearLayers }, seed: 1);
        Assert.Equal(lora.parameters().Where(p => p.requires_grad).Sum(p => p.numel()), MemoryPlanner.Plan(new PlanRequest(config, "lora", 1, 16) { LoraRank = 4 }).TrainableParameters);
    }

    /// <summary>
    /// Qwen3-30B-A3B (assets/configs/qwen3-30b-a3b.json): all 128 experts of all 48 layers count in
    /// the weights, 30,532,122,624 parameters as transformers' num_parameters() gives, written out
    /// here from the shapes; the activations count the 8 routed experts only, so a step's are far
    /// below what 128 would keep.
    /// </summary>
    [Fact]
    public void Qwen3_30B_A3BCountsEveryExpertsWeightsAndOnlyTheRoutedExpertsActivations()
    {
        var config = ModelConfig.Load(ConfigSources.Resolve("qwen3-30b-a3b"));
        Assert.Equal(128, config.Experts!.NumExperts);
        long h = 2048, q = 32 * 128, kv = 4 * 128, experts = 128, width = 768, vocab = 151936;
        long attention = h * q + 2 * h * kv + q * h + 2 * 128; // q, k, v, o; q_norm and k_norm
        long moe = experts * h + experts * 3 * h * width; // router; gate, up and down of every expert
        long expected = 2 * vocab * h + 48 * (attention + moe + 2 * h) + h; // untied embedding and head; two norms a layer; final norm
        Assert.Equal(30_532_122_624L, expected);
        var full = MemoryPlanner.Plan(new PlanRequest(config, "full", 1, 1024));
        Assert.Equal(expected, full.TrainableParameters);
        Assert.Equal(expected * 2, full.M1);
        // The activations: with all 128 experts counted they would exceed 16 × the routed ones' MLP share.
        var dense = config with { Experts = null, IntermediateSize = 128 * 768 };
        var denseActivations = MemoryPlanner.Plan(new PlanRequest(dense, "full", 1, 1024)).M3;
        Assert.True(full.M3 * 4 < denseActivations, $"{full.M3} vs {denseActivations} with every expert's activations");
        // QLoRA's NF4 experts (rank 8 on every projection: 8 × (2048 + 768) per expert projection, about 0.4B fp32 adapter weights in all).
        var qlora = MemoryPlanner.Plan(new PlanRequest(config, "qlora", 1, 1024) { LoraRank = 8 });
        Assert.True(qlora.M1 < full.M1 / 3, $"QLoRA weights {qlora.M1} vs {full.M1} in bf16");
    }
}
