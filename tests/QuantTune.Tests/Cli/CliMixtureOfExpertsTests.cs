namespace QuantTune.Tests.Cli;

/// <summary>Qwen2-MoE and Mixtral from the command line, as a user would run them: info names the experts, generate matches the reference, perplexity, LoRA on the experts (aux_loss in metrics.jsonl, PEFT's names for the shared expert and Mixtral's w1/w3/w2), QLoRA, QST and merge.</summary>
public sealed class CliMixtureOfExpertsTests() : TempFolderTest("qt-cli-moe-")
{
    [Theory]
    [InlineData("tiny-qwen2-moe", "mixture of experts on 2 of 3 layers: 8 experts of width 32, top-2", "shared expert of width 64, sigmoid-gated on every sparse layer",
        "base_model.model.model.layers.2.mlp.shared_expert.down_proj.lora_B.weight")]
    [InlineData("tiny-mixtral", "mixture of experts on 2 of 2 layers: 8 experts of width 32, top-2 renormalised", "sliding window 16 on 2 of 2 layers",
        "base_model.model.model.layers.1.block_sparse_moe.experts.5.w2.lora_B.weight")]
    public void InfoGeneratesEvaluatesFinetunesAndMerges(string fixture, string experts, string difference, string adapterKey)
    {
        var run = new FamilyCommandRun(TestData.Fixture(fixture), Dir);
        run.InfoNames(experts, difference);
        run.GeneratesTheReferenceIds();
        run.EvaluatesPerplexity();
        var runs = run.Finetunes(["lora", "qlora", "qst"], auxLoss: true);
        FamilyCommandRun.AdapterHolds(runs["lora"], [adapterKey]);
        run.EvaluatesPerplexity(run.Merges(runs["lora"]));
        run.GeneratesWithQst(runs["qst"]);
    }
}
