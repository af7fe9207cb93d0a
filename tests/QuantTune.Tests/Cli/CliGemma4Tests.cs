namespace QuantTune.Tests.Cli;

/// <summary>Gemma 4's text model from the command line: info names its differences, generate gives the reference's greedy ids, eval, LoRA finetune and merge run, plan reads gemma-4-e2b, and what is not built (QST, GGUF export) is refused.</summary>
public sealed class CliGemma4Tests() : TempFolderTest("qt-cli-gemma4-")
{
    [Fact]
    public void Gemma4InfoGeneratesEvaluatesFinetunesMergesAndPlans()
    {
        var run = new FamilyCommandRun(TestData.TinyGemma4Dir, Dir);
        run.InfoNames("full-attention heads of 32 (sliding ones 16)", "the last 2 layers attend over earlier layers' keys and values",
            "per-layer inputs of 8", "keys as values on the full-attention layers (1 key heads)");
        run.GeneratesTheReferenceIds();
        run.EvaluatesPerplexity();
        var adapter = run.Finetunes(["lora"], seq: 80)["lora"];
        FamilyCommandRun.AdapterHolds(adapter,
            ["base_model.model.model.layers.4.self_attn.q_proj.lora_A.weight", "base_model.model.model.layers.0.per_layer_input_gate.lora_A.weight",
             "base_model.model.model.per_layer_model_projection.lora_B.weight"],
            absent: "base_model.model.model.layers.4.self_attn.k_proj.lora_A.weight");
        run.EvaluatesPerplexity(run.Merges(adapter));
        FamilyCommandRun.Plans("gemma-4-e2b");
        CliRunner.AssertCleanFailure(CliRunner.Run("finetune", "--model", run.Model, "--data", run.Data, "--method", "qst", "--steps", "1", "--out", Path.Combine(Dir, "qst")), "QST", "per-layer inputs");
        var gguf = Path.Combine(Dir, "g4.gguf");
        CliRunner.AssertCleanFailure(CliRunner.Run("export", "gguf", "--model", run.Model, "--type", "q8_0", "--out", gguf), "gemma4_text");
        Assert.False(File.Exists(gguf));
    }
}
