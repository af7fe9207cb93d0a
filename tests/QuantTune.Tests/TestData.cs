using System.Text.Json;

namespace QuantTune.Tests;

/// <summary>Paths of the data files copied next to the test assembly, and a minimal safetensors reader.</summary>
internal static class TestData
{
    /// <summary>The embedded default model (assets/models/tiny-llama), with transformers' reference outputs.</summary>
    public static string TinyLlamaDir => Path.Combine(AppContext.BaseDirectory, "assets", "models", "tiny-llama");

    /// <summary>tests/fixtures/tiny-qwen2: tied embeddings, q/k/v bias, random weights.</summary>
    public static string TinyQwen2Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-qwen2");

    /// <summary>tests/fixtures/tiny-qwen3: q/k norms, head_dim 32 ≠ hidden/heads, untied head, random fp32 weights (tools/family-fixtures).</summary>
    public static string TinyQwen3Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-qwen3");

    /// <summary>tests/fixtures/tiny-qwen3-moe: Qwen3's attention, 8 experts of width 32 routed top-2 with norm_topk_prob on layers 0 and 2, layer 1 dense (mlp_only_layers), tied head.</summary>
    /// <summary>tests/fixtures/tiny-qwen3.5: Qwen3.5's hybrid decoder, Gated DeltaNet on layers 0, 2 and 3 (2 query/key heads of 16, 4 value heads of 24, 4 conv taps), gated softmax attention on layer 1 with partial RoPE 0.25; untied head.</summary>
    public static string TinyQwen35Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-qwen3.5");

    /// <summary>tests/fixtures/tiny-qwen3.5-gguf: tiny-qwen3.5 with value heads of 16, the size of its key heads, as llama.cpp's qwen35 can hold it.</summary>
    public static string TinyQwen35GgufDir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-qwen3.5-gguf");

    public static string TinyQwen3MoeDir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-qwen3-moe");

    /// <summary>tests/fixtures/tiny-qwen3-moe-gguf: tiny-qwen3-moe with every layer sparse (no mlp_only_layers), as llama.cpp's qwen3moe holds it.</summary>
    public static string TinyQwen3MoeGgufDir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-qwen3-moe-gguf");

    /// <summary>tests/fixtures/tiny-qwen2-moe-gguf: tiny-qwen2-moe with every layer sparse (no mlp_only_layers), as llama.cpp's qwen2moe holds it.</summary>
    public static string TinyQwen2MoeGgufDir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-qwen2-moe-gguf");

    /// <summary>tests/fixtures/tiny-qwen2-moe: Qwen2's q/k/v biases, 8 experts of width 32 routed top-2 without renormalisation plus a shared expert of width 64 behind its sigmoid gate on layers 0 and 2, layer 1 dense (mlp_only_layers), tied head.</summary>
    public static string TinyQwen2MoeDir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-qwen2-moe");

    /// <summary>tests/fixtures/tiny-mixtral: Mistral's attention with a 16-token sliding window, block_sparse_moe on both layers (8 experts w1/w3/w2 of width 32, top-2 renormalised), tied head.</summary>
    public static string TinyMixtralDir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-mixtral");

    /// <summary>tests/fixtures/tiny-mixtral-gguf: tiny-mixtral without a sliding window (sliding_window null, as Mixtral-8x7B's config), as llama.cpp's llama holds it.</summary>
    public static string TinyMixtralGgufDir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-mixtral-gguf");

    /// <summary>tests/fixtures/tiny-gemma3: Gemma norms and GeGLU, q/k norms, 16-token window on layers 0-1, local/global RoPE bases.</summary>
    public static string TinyGemma3Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-gemma3");

    /// <summary>tests/fixtures/tiny-gemma4: Gemma 4's text model with every dense quirk: per-layer inputs, KV sharing (layers 3-4), attention_k_eq_v, global heads of 32 beside sliding ones of 16, proportional RoPE, double-wide MLPs, layer_scalar, final soft-cap.</summary>
    public static string TinyGemma4Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-gemma4");

    /// <summary>tests/fixtures/tiny-gpt-oss: gpt-oss's sinks, sliding (16) / full layers, YaRN, q/k/v/o biases, 8 experts with biases and the clamped SwiGLU stored as MXFP4 blocks.</summary>
    public static string TinyGptOssDir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-gpt-oss");

    /// <summary>tests/fixtures/tiny-gemma4-moe: Gemma 4's mixture-of-experts variant (enable_moe_block): 8 experts (top 2, fused in the checkpoint) and a scaled router beside each layer's dense MLP, no per-layer inputs or KV sharing.</summary>
    public static string TinyGemma4MoeDir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-gemma4-moe");

    /// <summary>tests/fixtures/tiny-gemma2: Gemma norms and GeGLU, attention and final logit soft-caps, alternating 16-token window.</summary>
    public static string TinyGemma2Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-gemma2");

    /// <summary>tests/fixtures/tiny-phi3: Phi-4-mini's quirks: fused qkv_proj and gate_up_proj, RoPE on half of each head, LongRoPE whose original context (48) lies inside the 64-token test sequences, tied head.</summary>
    public static string TinyPhi3Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-phi3");

    /// <summary>tests/fixtures/tiny-gpt2: GPT-2's LayerNorms with biases, learned positions, fused c_attn, biases everywhere, Conv1D weights, gelu_new, tied head, GPT2Config's keys.</summary>
    public static string TinyGpt2Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-gpt2");

    /// <summary>tests/fixtures/tiny-olmo2: OLMo 2's norms after attention and after the MLP (none before), q/k norms over the whole q and k projections, rms_norm_eps 1e-5, tied head.</summary>
    public static string TinyOlmo2Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-olmo2");

    /// <summary>tests/fixtures/tiny-smollm3: SmolLM3's no-RoPE layers (no_rope_layers [1, 0, 1, 0]), rope_theta 5e6, tied head.</summary>
    public static string TinySmolLM3Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-smollm3");

    /// <summary>tests/fixtures/tiny-smollm3-gguf: tiny-smollm3 without RoPE in layer 3 only (no_rope_layers [1, 1, 1, 0]), every fourth layer, as llama.cpp's smollm3 holds it.</summary>
    public static string TinySmolLM3GgufDir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-smollm3-gguf");

    /// <summary>tests/fixtures/tiny-granite: Granite's multipliers far from 1 (embedding ×12, block outputs ×0.22 before the residual, attention scale 1/64, logits ÷8), tied head.</summary>
    public static string TinyGraniteDir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-granite");

    /// <summary>tests/fixtures/tiny-stablelm: StableLM's LayerNorms with biases, RoPE on 8 of each head's 32 dimensions (partial_rotary_factor 0.25), q/k/v biases, grouped keys, tied head.</summary>
    public static string TinyStableLmDir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-stablelm");

    /// <summary>A fixture folder by name (tiny-llama is the embedded model).</summary>
    public static string Fixture(string name) => name == "tiny-llama" ? TinyLlamaDir : Path.Combine(AppContext.BaseDirectory, "fixtures", name);

    /// <summary>tests/fixtures/tiny-llama-lora: a PEFT LoRA adapter for tiny-llama.</summary>
    public static string TinyLlamaLoraDir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-llama-lora");

    public static string WikiTestRaw => Path.Combine(AppContext.BaseDirectory, "assets", "data", "wikitext-2", "wiki.test.raw");

    /// <summary>Reads one I64 tensor: 8-byte little-endian header length, JSON header, then raw data.</summary>
    public static long[] ReadInt64Tensor(string path, string name)
    {
        byte[] file = File.ReadAllBytes(path);
        long headerLength = BitConverter.ToInt64(file, 0);
        using JsonDocument header = JsonDocument.Parse(file.AsMemory(8, (int)headerLength));
        JsonElement tensor = header.RootElement.GetProperty(name);
        Assert.Equal("I64", tensor.GetProperty("dtype").GetString());
        long begin = tensor.GetProperty("data_offsets")[0].GetInt64();
        long end = tensor.GetProperty("data_offsets")[1].GetInt64();
        int dataStart = checked((int)(8 + headerLength + begin));
        var values = new long[(end - begin) / 8];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = BitConverter.ToInt64(file, dataStart + (i * 8));
        }

        return values;
    }
}
