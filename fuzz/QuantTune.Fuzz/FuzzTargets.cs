using System.Text;
using QuantTune.Evaluation.MultipleChoice;
using QuantTune.Formats.Gguf;
using QuantTune.Formats.Safetensors;
using QuantTune.Models.Config;
using QuantTune.Models.Loading;
using QuantTune.Peft;
using QuantTune.SideTuning;
using QuantTune.Tokenization;
using QuantTune.Tokenization.ChatTemplates;
using QuantTune.Training.Checkpoints;
using QuantTune.Training.Data;
using QuantTune.Training.Metrics;
using static TorchSharp.torch;

namespace QuantTune.Fuzz;

/// <summary>Every fuzz target, by name: one per parser a user's file reaches.</summary>
public static class FuzzTargets
{
    static MicroModel Micro => MicroModel.Instance;

    static readonly Lazy<HfTokenizer> Tokenizer = new(() => HfTokenizer.FromDirectory(Micro.Checkpoint));

    public static readonly IReadOnlyList<FuzzTarget> All =
    [
        // ---- weights ----
        new("safetensors", "model.safetensors", path =>
        {
            using var file = SafetensorsFile.Open(path);
            foreach (var name in file.Tensors.Keys) { using var t = file.ToTensor(name); }
        }, seeds: () => [("micro-adapter", File.ReadAllBytes(Path.Combine(Micro.Adapter, AdapterIO.WeightsFile)))]),
        Folder("safetensors-index", SafetensorsCheckpoint.IndexFile, () => ShardedCheckpoint, path =>
        {
            using var checkpoint = SafetensorsCheckpoint.Open(Path.GetDirectoryName(path)!);
            foreach (var name in checkpoint.Names) { using var t = checkpoint.ToTensor(name); }
        }),

        // ---- model folder files ----
        new("config", "config.json", path => ModelConfig.Load(path), seeds: () => Files(
            Path.Combine(RepositoryRoot.Find(), "assets", "models", "tiny-llama", "config.json"),
            Path.Combine(RepositoryRoot.Find(), "tests", "fixtures", "tiny-qwen2", "config.json"),
            Path.Combine(RepositoryRoot.Find(), "tests", "fixtures", "llama-2-7b.json"))),
        Folder("tokenizer", "tokenizer.json", () => Micro.Checkpoint, path => UseModel(Path.GetDirectoryName(path)!)),
        Folder("tokenizer-config", "tokenizer_config.json", () => Micro.Checkpoint, path => UseModel(Path.GetDirectoryName(path)!)),
        Folder("model-config", "config.json", () => Micro.Checkpoint, path => UseModel(Path.GetDirectoryName(path)!)),

        // ---- GGUF ----
        new("gguf-model", "model.gguf", path => UseModel(path), seeds: () => [("micro", File.ReadAllBytes(Micro.Gguf))]),
        new("gguf-adapter", "adapter.gguf", path =>
        {
            using var model = MicroModel.NewModel();
            GgufLoraImport.Load(model, path);
        }, seeds: () => [("micro", File.ReadAllBytes(Micro.GgufAdapter))]),

        // ---- adapters and side networks ----
        Folder("peft-adapter", AdapterConfig.FileName, () => Micro.Adapter, path =>
        {
            using var model = MicroModel.NewModel();
            AdapterIO.Load(model, Path.GetDirectoryName(path)!);
        }),
        Folder("peft-weights", AdapterIO.WeightsFile, () => Micro.Adapter, path =>
        {
            using var model = MicroModel.NewModel();
            AdapterIO.Load(model, Path.GetDirectoryName(path)!);
        }),
        Folder("qst", QstCheckpoint.ConfigFile, () => Micro.Qst, path =>
        {
            using var pm = PretrainedModel.Load(Micro.Checkpoint);
            using var qst = QstLoader.Attach(pm, Path.GetDirectoryName(path)!);
        }),

        // ---- quantized checkpoints ----
        Folder("bnb-4bit", SafetensorsCheckpoint.SingleFile, () => Micro.Bnb4Bit, path => UseModel(Path.GetDirectoryName(path)!)),
        Folder("bnb-4bit-config", "config.json", () => Micro.Bnb4Bit, path => UseModel(Path.GetDirectoryName(path)!)),
        Folder("gptq", SafetensorsCheckpoint.SingleFile, () => Micro.Gptq, path => UseModel(Path.GetDirectoryName(path)!)),
        Folder("gptq-config", "config.json", () => Micro.Gptq, path => UseModel(Path.GetDirectoryName(path)!)),

        // ---- training runs ----
        Folder("trainer-state", "checkpoint/trainer_state.json", () => TrainingRun, path => TrainingCheckpoint.ReadState(RunOf(path))),
        Folder("checkpoint", "checkpoint/trainable.safetensors", () => TrainingRun, path =>
        {
            var trainable = TrainableParameters();
            try { foreach (var t in TrainingCheckpoint.Load(RunOf(path), trainable).Values) t.Dispose(); }
            finally { foreach (var (_, t) in trainable) t.Dispose(); }
        }),
        Folder("optimizer-state", "checkpoint/optimizer.safetensors", () => TrainingRun, path =>
        {
            var trainable = TrainableParameters();
            try { foreach (var t in TrainingCheckpoint.Load(RunOf(path), trainable).Values) t.Dispose(); }
            finally { foreach (var (_, t) in trainable) t.Dispose(); }
        }),
        Folder("metrics", "metrics.jsonl", () => TrainingRun, path =>
        {
            using var log = new MetricsLog(path, resumeFromStep: 1000);
        }),

        // ---- datasets ----
        new("data-text", "data.txt", path => TextDataset.FromFile(path, Tokenizer.Value, 8), seeds: () =>
            [("shakespeare", Encoding.UTF8.GetBytes(Head(Path.Combine(RepositoryRoot.Find(), "assets", "data", "tiny-shakespeare.txt"), 400)))]),
        new("data-text-jsonl", "data.jsonl", path => TextRecordDataset.Load(path, Tokenizer.Value, 8), seeds: () =>
            [("records", "{\"text\": \"First Citizen: Before we proceed\"}\n{\"text\": \"any further, hear me speak.\"}\n"u8.ToArray())]),
        new("data-instruction-jsonl", "data.jsonl", path => InstructionDataset.Load(path, Tokenizer.Value), seeds: () =>
            [("alpaca", "{\"instruction\": \"Say hi\", \"input\": \"\", \"output\": \"hi\"}\n{\"instruction\": \"Add\", \"input\": \"1 2\", \"output\": \"3\"}\n"u8.ToArray())]),
        new("data-instruction-json", "data.json", path => InstructionDataset.Load(path, Tokenizer.Value), seeds: () =>
            [("alpaca", "[{\"instruction\": \"Say hi\", \"input\": \"\", \"output\": \"hi\"}, {\"instruction\": \"Add\", \"output\": \"3\"}]"u8.ToArray())]),
        new("data-classification", "data.tsv", path => ClassificationDataset.Load(path, Tokenizer.Value), seeds: () =>
            [("sst2", "sentence\tlabel\na fine film \t1\ndull and long \t0\n"u8.ToArray())]),
        // Conversations (messages or ShareGPT), rendered in the micro checkpoint's template as finetune's chat data is.
        new("data-chat-jsonl", "chat.jsonl", path => ConversationDataset.Load(path, Tokenizer.Value, ModelChatTemplate.Load(Micro.Checkpoint, "chatml"),
            new ConversationOptions { MaxLength = 64 }), seeds: () =>
            [("chat-sample", Encoding.UTF8.GetBytes(Head(Path.Combine(RepositoryRoot.Find(), "assets", "data", "chat-sample.jsonl"), 900)))]),
        new("data-mmlu", "questions.csv", path => MmluQuestion.Load(path), seeds: () =>
            [("anatomy", Encoding.UTF8.GetBytes(Head(Path.Combine(RepositoryRoot.Find(), "assets", "data", "mmlu", "dev", "anatomy_dev.csv"), 600)))]),

        // ---- chat templates ----
        // The model folder's chat_template.jinja, rendered over a conversation with a system turn, as chat and the chat data do.
        new("chat-template", "chat_template.jinja", path =>
        {
            var template = ModelChatTemplate.Load(Path.GetDirectoryName(path)!);
            template.Template.Render(Conversation(), template.Inputs(addGenerationPrompt: true));
        }, prepare: dir => CopyFolder(Micro.Checkpoint, dir), seeds: () =>
            Directory.GetFiles(Path.Combine(RepositoryRoot.Find(), "tests", "fixtures", "chat-templates"), "*.jinja").Order(StringComparer.Ordinal)
                .Select(f => (Path.GetFileNameWithoutExtension(f), File.ReadAllBytes(f)))),
        // tokenizer_config.json's chat_template: a string, or a list of named templates (transformers' form).
        new("chat-template-config", "tokenizer_config.json", path =>
        {
            var template = ModelChatTemplate.Load(Path.GetDirectoryName(path)!);
            template.Template.Render(Conversation(), template.Inputs(addGenerationPrompt: true));
        }, prepare: dir => CopyFolder(Micro.Checkpoint, dir), seeds: () =>
            [("named-list", """{"bos_token": "<s>", "eos_token": "</s>", "chat_template": [{"name": "default", "template": "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"}, {"name": "tool_use", "template": "{{ tools | tojson }}"}]}"""u8.ToArray()),
             ("string", """{"bos_token": "<s>", "eos_token": "</s>", "chat_template": "{% for m in messages %}{{ bos_token + m.role + ': ' + m.content | trim + eos_token }}{% endfor %}"}"""u8.ToArray())]),
    ];

    static System.Text.Json.Nodes.JsonArray Conversation() => System.Text.Json.Nodes.JsonNode.Parse(
        """[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi <b>there</b> 😀"}, {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "2+2?"}]""")!.AsArray();

    public static FuzzTarget Get(string name) =>
        All.FirstOrDefault(t => t.Name == name) ?? throw new ArgumentException($"no fuzz target '{name}'; expected one of {string.Join(", ", All.Select(t => t.Name))}");

    /// <summary>A target whose scratch folder is a copy of <paramref name="template"/>, the input replacing one of its files (that file is the seed).</summary>
    static FuzzTarget Folder(string name, string varyingFile, Func<string> template, Action<string> load) =>
        new(name, varyingFile, load,
            prepare: dir => CopyFolder(template(), dir),
            seeds: () => [("valid", File.ReadAllBytes(Path.Combine(template(), varyingFile)))]);

    /// <summary>Loads a model folder or GGUF as the CLI does and runs the tokenizer over a short text both ways.</summary>
    static void UseModel(string path)
    {
        using var pm = PretrainedModel.Load(path);
        var ids = pm.Tokenizer.Encode("Hello, world! <s> naïve 日本", addSpecialTokens: true);
        pm.Tokenizer.Decode(ids);
        using var _ = no_grad();
        using var input = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Count]);
        using var logits = pm.Model.Forward(input);
    }

    static IEnumerable<(string, byte[])> Files(params string[] paths) =>
        paths.Select(p => ($"{Path.GetFileName(Path.GetDirectoryName(p))}-{Path.GetFileNameWithoutExtension(p)}", File.ReadAllBytes(p)));

    static string Head(string path, int chars)
    {
        var text = File.ReadAllText(path);
        var cut = text[..Math.Min(chars, text.Length)];
        return cut[..(cut.LastIndexOf('\n') + 1)];
    }

    static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }

    static string RunOf(string pathInCheckpoint) => Path.GetDirectoryName(Path.GetDirectoryName(pathInCheckpoint)!)!;

    // ---- a sharded micro checkpoint and a training run, built beside the micro model ----

    static readonly Lazy<string> Sharded = new(() =>
    {
        var dir = Path.Combine(Micro.Root, "sharded");
        Directory.CreateDirectory(dir);
        using var model = MicroModel.NewModel();
        var parameters = model.named_parameters().Select(p => (p.name, p.parameter.detach())).OrderBy(p => p.name, StringComparer.Ordinal).ToList();
        var map = new System.Text.Json.Nodes.JsonObject();
        for (int shard = 0; shard < 2; shard++)
        {
            var file = $"model-0000{shard + 1}-of-00002.safetensors";
            var part = parameters.Where((_, i) => i % 2 == shard).ToList();
            SafetensorsWriter.Write(Path.Combine(dir, file), part.Select(p => new KeyValuePair<string, Tensor>(p.name, p.Item2)));
            foreach (var (name, _) in part) map[name] = file;
        }
        File.WriteAllText(Path.Combine(dir, SafetensorsCheckpoint.IndexFile),
            new System.Text.Json.Nodes.JsonObject { ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["total_size"] = 0 }, ["weight_map"] = map }.ToJsonString());
        return dir;
    });

    static string ShardedCheckpoint => Sharded.Value;

    static List<(string Name, Tensor Value)> TrainableParameters()
    {
        manual_seed(0);
        return [("lora_A", randn(2, 32)), ("lora_B", zeros(32, 2)), ("step", zeros(1, dtype: ScalarType.Int64))];
    }

    static readonly Lazy<string> Run = new(() =>
    {
        var dir = Path.Combine(Micro.Root, "run");
        Directory.CreateDirectory(dir);
        var trainable = TrainableParameters();
        using var m = zeros(32, 2);
        TrainingCheckpoint.Save(dir, new TrainerState(3, 0, 3, 42, "adamw", 2.5, "fp32"), trainable,
            new Dictionary<string, Tensor> { ["state.0.exp_avg"] = m });
        foreach (var (_, t) in trainable) t.Dispose();
        File.WriteAllLines(Path.Combine(dir, "metrics.jsonl"),
        [
            "{\"step\":1,\"loss\":3.1,\"learning_rate\":0.001,\"grad_norm\":1.5,\"tokens\":64,\"seconds\":0.1}",
            "{\"step\":2,\"loss\":2.9,\"learning_rate\":0.001,\"grad_norm\":1.2,\"tokens\":128,\"seconds\":0.2,\"eval_loss\":3.0}",
            "{\"step\":3,\"loss\":2.5,\"learning_rate\":0.001,\"grad_norm\":1.1,\"tokens\":192,\"seconds\":0.3}",
        ]);
        return dir;
    });

    static string TrainingRun => Run.Value;
}
