using System.Text.Json;
using QuantTune.Formats.Gguf;

namespace QuantTune.Tests.Cli;

/// <summary>A newer family through the whole product from the command line, as a user would run it: Qwen3, Qwen3-MoE, Qwen3.5, Phi-3, Gemma 3, OLMo 2 and SmolLM3.</summary>
public sealed class CliFamilyTests() : TempFolderTest("qt-cli-family-")
{
    [Fact]
    public void Qwen3FinetunesMergesQuantizesExportsAndPlans()
    {
        var run = new FamilyCommandRun(TestData.TinyQwen3Dir, Dir);
        var merged = run.Merges(run.Finetunes(["lora"], prefix: "run-")["lora"]);
        var nf4 = Path.Combine(Dir, "nf4");
        Assert.Equal(0, CliRunner.Run("quantize", "--model", merged, "--scheme", "nf4", "--double-quant", "--out", nf4).ExitCode);
        run.EvaluatesPerplexity(nf4);
        var gguf = Path.Combine(Dir, "q.gguf");
        Assert.Equal(0, CliRunner.Run("export", "gguf", "--model", nf4, "--type", "q8_0", "--out", gguf).ExitCode);
        using (var f = GgufFile.Open(gguf))
        {
            Assert.Equal("qwen3", f.Metadata["general.architecture"].AsString());
            Assert.Contains("blk.0.attn_q_norm.weight", f.TensorsByName.Keys);
        }
        var plan = CliRunner.Run("plan", "--model", "qwen3-0.6b", "--method", "qst", "--batch", "1", "--seq", "1024", "--json");
        Assert.Equal(0, plan.ExitCode);
        Assert.Contains("qst", plan.Stdout);
    }

    /// <summary>Granite from the command line: info names the four multipliers, generate matches the reference, a QLoRA run, a plan of granite-3.3-8b-instruct, and GGUF export as granite with the multipliers as llama.cpp's keys.</summary>
    [Fact]
    public void GraniteInfoGeneratesFinetunesPlansAndExportsGguf()
    {
        var run = new FamilyCommandRun(TestData.TinyGraniteDir, Dir);
        run.InfoNames("embedding ×12", "attention and MLP outputs ×0.22 before the residual", "attention scale 0.015625 (head_dim^-½ would be 0.1768)", "logits ÷8");
        run.GeneratesTheReferenceIds();
        run.Finetunes(["qlora"], prefix: "granite-");
        FamilyCommandRun.Plans("granite-3.3-8b-instruct");
        var gguf = Path.Combine(Dir, "granite.gguf");
        var export = CliRunner.Run("export", "gguf", "--model", run.Model, "--type", "q8_0", "--out", gguf);
        Assert.True(export.ExitCode == 0, export.Stderr);
        using var f = GgufFile.Open(gguf);
        Assert.Equal("granite", f.Metadata["general.architecture"].AsString());
        Assert.Equal(12.0, f.OptionalNumber("granite.embedding_scale"));
        Assert.Equal(0.22f, (float?)f.OptionalNumber("granite.residual_scale"));
        Assert.Equal(0.015625, f.OptionalNumber("granite.attention.scale"));
        Assert.Equal(8.0, f.OptionalNumber("granite.logit_scale"));
    }

    /// <summary>StableLM from the command line: info names its LayerNorms and partial rotary, generate matches the reference, GGUF export as stablelm (LayerNorm biases, 8 rotated dimensions, the tied head written as output.weight).</summary>
    [Fact]
    public void StableLmInfoGeneratesAndExportsGguf()
    {
        var run = new FamilyCommandRun(TestData.TinyStableLmDir, Dir);
        run.InfoNames("LayerNorm with bias", "RoPE on 8 of 32 head dimensions");
        run.GeneratesTheReferenceIds();
        var gguf = Path.Combine(Dir, "stablelm.gguf");
        var export = CliRunner.Run("export", "gguf", "--model", run.Model, "--type", "q8_0", "--out", gguf);
        Assert.True(export.ExitCode == 0, export.Stderr);
        using var f = GgufFile.Open(gguf);
        Assert.Equal("stablelm", f.Metadata["general.architecture"].AsString());
        Assert.Equal(8L, f.OptionalInteger("stablelm.rope.dimension_count", 0, long.MaxValue));
        Assert.Contains("blk.0.attn_norm.bias", f.TensorsByName.Keys);
        Assert.Contains("blk.0.attn_q.bias", f.TensorsByName.Keys);
        Assert.Contains("output.weight", f.TensorsByName.Keys);
    }

    /// <summary>Qwen3-MoE from the command line: info names the experts, generate matches the reference, perplexity, LoRA on the experts (aux_loss in metrics.jsonl), QLoRA, merge, QST and a plan of Qwen3-30B-A3B.</summary>
    [Fact]
    public void Qwen3MoeInfoGeneratesEvaluatesFinetunesMergesAndPlans()
    {
        var run = new FamilyCommandRun(TestData.TinyQwen3MoeDir, Dir);
        run.InfoNames("q/k norms", "mixture of experts on 2 of 3 layers: 8 experts of width 32, top-2 renormalised", "load-balancing loss × 0.001 in training");
        run.GeneratesTheReferenceIds();
        run.EvaluatesPerplexity();
        var runs = run.Finetunes(["lora", "qlora", "qst"], auxLoss: true, prefix: "moe-");
        FamilyCommandRun.AdapterHolds(runs["lora"], ["base_model.model.model.layers.2.mlp.experts.5.down_proj.lora_B.weight"]);
        run.EvaluatesPerplexity(run.Merges(runs["lora"], "moe-merged"));
        run.GeneratesWithQst(runs["qst"]);
        FamilyCommandRun.Plans("qwen3-30b-a3b");
    }

    /// <summary>
    /// Qwen3.5 from the command line: info names the hybrid layers, generate (KV cache and
    /// linear-attention state) matches the reference, perplexity, LoRA on the Gated DeltaNet and
    /// attention projections under PEFT's names, QLoRA, DoRA, QST with a softmax-attention side
    /// network, merge, QST generate, plans of Qwen3.5-0.8B and -27B; GGUF export as qwen35 (tiny-qwen3.5's value heads,
    /// which llama.cpp cannot hold, refused by name; tiny-qwen3.5-gguf written).
    /// </summary>
    [Fact]
    public void Qwen35InfoGeneratesEvaluatesFinetunesMergesAndPlans()
    {
        var run = new FamilyCommandRun(TestData.TinyQwen35Dir, Dir);
        run.InfoNames("Gated DeltaNet linear attention on 3 of 4 layers: 2 key heads × 16, 4 value heads × 24, conv 4", "gated attention output", "RoPE on 8 of 32 head dimensions");
        run.GeneratesTheReferenceIds();
        run.EvaluatesPerplexity();
        var runs = run.Finetunes(["lora", "qlora", "dora", "qst"], seq: 80, prefix: "q35-");
        FamilyCommandRun.AdapterHolds(runs["lora"],
            ["base_model.model.model.layers.0.linear_attn.in_proj_qkv.lora_A.weight", "base_model.model.model.layers.3.linear_attn.out_proj.lora_B.weight",
             "base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight"]);
        run.EvaluatesPerplexity(run.Merges(runs["lora"], "q35-merged"));
        run.GeneratesWithQst(runs["qst"]);
        foreach (var shape in new[] { "qwen3.5-0.8b", "qwen3.5-27b" })
            FamilyCommandRun.Plans(shape);
        // Value heads of 24 beside key heads of 16 are refused by that field: llama.cpp's qwen35 takes both sizes from one key.
        var gguf = Path.Combine(Dir, "q35.gguf");
        CliRunner.AssertCleanFailure(CliRunner.Run("export", "gguf", "--model", run.Model, "--type", "q8_0", "--out", gguf), "linear_value_head_dim", "qwen35");
        Assert.False(File.Exists(gguf));
        var export = CliRunner.Run("export", "gguf", "--model", TestData.TinyQwen35GgufDir, "--type", "q8_0", "--out", gguf);
        Assert.True(export.ExitCode == 0, export.Stderr);
        using (var f = GgufFile.Open(gguf))
        {
            Assert.Equal("qwen35", f.Metadata["general.architecture"].AsString());
            Assert.Equal(GgmlType.F32, f.TensorsByName["blk.0.ssm_conv1d.weight"].Type);
            Assert.Equal(GgmlType.Q8_0, f.TensorsByName["blk.0.ssm_out.weight"].Type);
        }
    }

    /// <summary>Phi-3's fused layout from the command line: QLoRA on qkv_proj (PEFT's name), merge, GPTQ, the bnb-4bit folder, GGUF phi3, plan of Phi-4-mini.</summary>
    [Fact]
    public void Phi3FinetunesOnItsFusedModulesMergesQuantizesExportsAndPlans()
    {
        var run = new FamilyCommandRun(TestData.TinyPhi3Dir, Dir);
        run.InfoNames("fused qkv_proj and gate_up_proj", "RoPE on 16 of 32 head dimensions");
        var adapter = run.Finetunes(["qlora"], prefix: "run-", extra: ["--targets", "qkv_proj,o_proj"])["qlora"];
        Assert.Contains("qkv_proj", File.ReadAllText(Path.Combine(adapter, "adapter_config.json")));
        var merged = run.Merges(adapter);
        var gptq = Path.Combine(Dir, "gptq");
        var g = CliRunner.Run("gptq", "--model", merged, "--bits", "4", "--group", "32", "--samples", "8", "--seq", "64", "--out", gptq);
        Assert.True(g.ExitCode == 0, g.Stdout + g.Stderr);
        run.EvaluatesPerplexity(gptq);
        var bnb = Path.Combine(Dir, "bnb");
        Assert.Equal(0, CliRunner.Run("quantize", "--model", merged, "--scheme", "nf4", "--double-quant", "--out", bnb).ExitCode);
        var gguf = Path.Combine(Dir, "p.gguf");
        Assert.Equal(0, CliRunner.Run("export", "gguf", "--model", bnb, "--type", "q8_0", "--out", gguf).ExitCode);
        using (var f = GgufFile.Open(gguf))
        {
            Assert.Equal("phi3", f.Metadata["general.architecture"].AsString());
            Assert.Contains("blk.1.attn_qkv.weight", f.TensorsByName.Keys);
        }
        FamilyCommandRun.Plans("phi-4-mini");
    }

    [Fact]
    public void Gpt2FinetunesOnC_AttnMergesQuantizesExportsGeneratesAndPlans()
    {
        var run = new FamilyCommandRun(TestData.TinyGpt2Dir, Dir);
        run.InfoNames("LayerNorm with bias", "learned positions (256), no RoPE", "fused c_attn");
        var adapter = run.Finetunes(["qlora"], prefix: "gpt2-", extra: ["--targets", "c_attn"])["qlora"];
        var adapterConfig = File.ReadAllText(Path.Combine(adapter, "adapter_config.json"));
        Assert.Contains("c_attn", adapterConfig);
        Assert.Contains("\"fan_in_fan_out\": true", adapterConfig);
        var merged = run.Merges(adapter, "gpt2-merged");
        var bnb = Path.Combine(Dir, "gpt2-bnb");
        Assert.Equal(0, CliRunner.Run("quantize", "--model", merged, "--scheme", "nf4", "--double-quant", "--out", bnb).ExitCode);
        run.EvaluatesPerplexity(bnb);
        var gguf = Path.Combine(Dir, "g.gguf");
        Assert.Equal(0, CliRunner.Run("export", "gguf", "--model", bnb, "--type", "q8_0", "--out", gguf).ExitCode);
        using (var f = GgufFile.Open(gguf))
        {
            Assert.Equal("gpt2", f.Metadata["general.architecture"].AsString());
            Assert.Contains("position_embd.weight", f.TensorsByName.Keys);
        }
        run.GeneratesWithQst(run.Finetunes(["qst"], prefix: "gpt2-")["qst"]);
        // The learned table holds 256 positions: a longer run is refused before it starts.
        CliRunner.AssertCleanFailure(CliRunner.Run("generate", "--model", run.Model, "--prompt", "hi", "-n", "300"), "--max-new-tokens 300", "256");
        var plan = CliRunner.Run("plan", "--model", run.Model, "--method", "qlora", "--batch", "1", "--seq", "128", "--json");
        Assert.True(plan.ExitCode == 0, plan.Stdout + plan.Stderr);
    }

    [Fact]
    public void Gemma3InfoNamesItsDifferencesAndGenerateMatchesTheReference()
    {
        var run = new FamilyCommandRun(TestData.TinyGemma3Dir, Dir);
        run.InfoNames("q/k norms", "sliding window 16 on 2 of 3 layers");
        run.GeneratesTheReferenceIds();
    }

    /// <summary>
    /// OLMo 2 and SmolLM3 from the command line: info names what the family changes, generate gives the reference's
    /// greedy ids, LoRA, merge, nf4 and perplexity run, and GGUF export writes llama.cpp's architecture of the same name;
    /// tiny-smollm3's no-RoPE layer 1 is refused by its field (llama.cpp's smollm3 leaves RoPE out of every fourth
    /// layer only), and tiny-smollm3-gguf, without RoPE in layer 3 only, is written.
    /// </summary>
    [Theory]
    [InlineData("tiny-olmo2", "olmo2", "q/k norms over the whole projections", null)]
    [InlineData("tiny-smollm3", "smollm3", "no RoPE in layers 1, 3", "no_rope_layers")]
    public void Olmo2AndSmolLM3RunFromTheCommandLineAndExportGguf(string fixture, string modelType, string difference, string? refusedBy)
    {
        var run = new FamilyCommandRun(TestData.Fixture(fixture), Dir);
        run.InfoNames(difference);
        run.GeneratesTheReferenceIds();
        var merged = run.Merges(run.Finetunes(["lora"], prefix: "run-")["lora"]);
        var nf4 = Path.Combine(Dir, "nf4");
        Assert.Equal(0, CliRunner.Run("quantize", "--model", merged, "--scheme", "nf4", "--out", nf4).ExitCode);
        run.EvaluatesPerplexity(nf4);
        var model = run.Model;
        var gguf = Path.Combine(Dir, "m.gguf");
        if (refusedBy is not null)
        {
            CliRunner.AssertCleanFailure(CliRunner.Run("export", "gguf", "--model", model, "--out", gguf), refusedBy, $"llama.cpp's {modelType}");
            Assert.False(File.Exists(gguf));
            model = TestData.Fixture(fixture + "-gguf");
        }
        var export = CliRunner.Run("export", "gguf", "--model", model, "--out", gguf);
        Assert.True(export.ExitCode == 0, export.Stderr);
        using var f = GgufFile.Open(gguf);
        Assert.Equal(modelType, f.Metadata["general.architecture"].AsString());
    }
}
