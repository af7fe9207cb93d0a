using System.Text.Json.Nodes;
using QuantTune.Formats.Gguf;
using QuantTune.Formats.Safetensors;
using QuantTune.Models.Config;
using QuantTune.Models.Loading;
using QuantTune.Models.Transformer;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using QuantTune.Quantization.Gptq;
using QuantTune.Quantization.Models;
using QuantTune.SideTuning;
using TorchSharp;
using static TorchSharp.torch;

namespace QuantTune.Fuzz;

/// <summary>
/// The valid files the folder targets vary one file of, built once per process in a temporary
/// folder from the repository's tiny-llama (its tokenizer trimmed to <see cref="Vocab"/> ids): a
/// micro llama checkpoint (hidden 32, 2 layers), its GGUF, a LoRA adapter and its GGUF, a QST side
/// network, bnb-4bit and GPTQ checkpoints, and a training checkpoint.
/// </summary>
public sealed class MicroModel
{
    public const int Vocab = 320;

    public static readonly string ConfigJson = new JsonObject
    {
        ["model_type"] = "llama", ["vocab_size"] = Vocab, ["hidden_size"] = 32, ["intermediate_size"] = 64,
        ["num_hidden_layers"] = 2, ["num_attention_heads"] = 2, ["num_key_value_heads"] = 2, ["head_dim"] = 16,
        ["max_position_embeddings"] = 64, ["rms_norm_eps"] = 1e-5, ["bos_token_id"] = 1, ["eos_token_id"] = 2,
        ["pad_token_id"] = 3, ["tie_word_embeddings"] = false, ["torch_dtype"] = "float32",
    }.ToJsonString();

    static readonly Lazy<MicroModel> Shared = new(() => new MicroModel(RepositoryRoot.Find()));

    public static MicroModel Instance => Shared.Value;

    /// <summary>The files are built in $QUANTTUNE_FUZZ_MICRO when set (kept, and reused once complete), else in a temporary folder removed at exit.</summary>
    MicroModel(string repository)
    {
        var given = Environment.GetEnvironmentVariable("QUANTTUNE_FUZZ_MICRO");
        Root = given is { Length: > 0 } ? Path.GetFullPath(given) : Directory.CreateTempSubdirectory("quanttune-fuzz-micro-").FullName;
        if (given is { Length: > 0 })
        {
            if (File.Exists(Path.Combine(Root, Complete))) return;
            if (Directory.Exists(Root)) Directory.Delete(Root, true);
            Directory.CreateDirectory(Root);
        }
        else AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(Root, true); } catch (IOException) { } };
        Build(repository);
        File.WriteAllText(Path.Combine(Root, Complete), "");
    }

    const string Complete = ".complete";

    void Build(string repository)
    {
        var tinyLlama = Path.Combine(repository, "assets", "models", "tiny-llama");
        manual_seed(0);
        Directory.CreateDirectory(Checkpoint);
        File.WriteAllText(Path.Combine(Checkpoint, "config.json"), ConfigJson);
        File.WriteAllText(Path.Combine(Checkpoint, "tokenizer.json"), TrimmedTokenizer(Path.Combine(tinyLlama, "tokenizer.json")));
        File.Copy(Path.Combine(tinyLlama, "tokenizer_config.json"), Path.Combine(Checkpoint, "tokenizer_config.json"));
        using (var model = NewModel())
            SafetensorsWriter.Write(Path.Combine(Checkpoint, SafetensorsCheckpoint.SingleFile),
                model.named_parameters().Select(p => new KeyValuePair<string, Tensor>(p.name, p.parameter.detach())).OrderBy(p => p.Key, StringComparer.Ordinal));

        using (var pm = PretrainedModel.Load(Checkpoint)) GgufExport.Write(pm, Gguf, LlamaFileType.F32);

        using (var model = NewModel())
        {
            var config = new LoraConfig { R = 2, LoraAlpha = 4, TargetModules = PeftTargets.FromNames("q_proj", "v_proj") };
            LoraModel.Apply(model, config, seed: 1);
            AdapterIO.Save(model, config, Adapter);
        }
        GgufLoraExport.Write(Checkpoint, Adapter, GgufAdapter);

        using (var pm = PretrainedModel.Load(Checkpoint))
        {
            ModelQuantizer.QuantizeNf4DoubleQuant(pm.Model);
            using var qst = new QstModel(pm.Model, new QstConfig { Reduction = 2, Bottleneck = 4 }, seed: 0);
            QstCheckpoint.Save(qst, Checkpoint, "nf4", Qst);
            QuantizedCheckpoint.Save(pm.Model, Checkpoint, Bnb4Bit, ScalarType.Float32);
        }

        using (var pm = PretrainedModel.Load(Checkpoint))
        {
            var settings = new GptqSettings(4, 16);
            var samples = new List<long[]> { Enumerable.Range(4, 16).Select(i => (long)i).ToArray() };
            GptqModelQuantizer.Quantize(pm.Model, samples, settings);
            GptqCheckpoint.Save(pm.Model, Checkpoint, Gptq, settings);
        }
    }

    public string Root { get; }
    public string Checkpoint => Path.Combine(Root, "checkpoint");
    public string Gguf => Path.Combine(Root, "micro.gguf");
    public string Adapter => Path.Combine(Root, "adapter");
    public string GgufAdapter => Path.Combine(Root, "adapter.gguf");
    public string Qst => Path.Combine(Root, "qst");
    public string Bnb4Bit => Path.Combine(Root, "bnb-4bit");
    public string Gptq => Path.Combine(Root, "gptq");

    /// <summary>The micro model with random weights (normal, σ = 0.02; norms at 1).</summary>
    public static CausalLM NewModel()
    {
        var model = new CausalLM(ModelConfig.Parse(ConfigJson), ScalarType.Float32, CPU);
        using var _ = no_grad();
        using var one = 1.0f.ToScalar();
        foreach (var (name, p) in model.named_parameters())
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal)) p.fill_(one);
            else p.normal_(0, 0.02);
        }
        return model;
    }

    /// <summary>tiny-llama's byte-level BPE tokenizer with only the ids below <see cref="Vocab"/> and the merges among them.</summary>
    static string TrimmedTokenizer(string path)
    {
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        var model = json["model"]!.AsObject();
        var vocab = model["vocab"]!.AsObject();
        var kept = new JsonObject();
        foreach (var (token, id) in vocab)
            if (id!.GetValue<int>() < Vocab) kept[token] = id.GetValue<int>();
        var merges = new JsonArray();
        foreach (var merge in model["merges"]!.AsArray())
        {
            var pair = merge!.AsArray();
            string left = pair[0]!.GetValue<string>(), right = pair[1]!.GetValue<string>();
            if (kept.ContainsKey(left) && kept.ContainsKey(right) && kept.ContainsKey(left + right)) merges.Add(new JsonArray(left, right));
        }
        model["vocab"] = kept;
        model["merges"] = merges;
        return json.ToJsonString();
    }
}
