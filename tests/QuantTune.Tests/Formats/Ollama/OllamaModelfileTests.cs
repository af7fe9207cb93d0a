using System.Text.Json;
using QuantTune.Diagnostics;
using QuantTune.Formats.Gguf;
using QuantTune.Formats.Ollama;

namespace QuantTune.Tests.Formats.Ollama;

public sealed class OllamaModelfileTests() : TempFolderTest("qt-ollama-")
{
    /// <summary>ollama's template/index.json: real Hugging Face chat templates and the ollama template ollama matches to each.</summary>
    static List<(string Template, string Name)> OllamaIndex() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "ollama", "index.json"))).RootElement
            .EnumerateArray().Select(e => (e.GetProperty("template").GetString()!, e.GetProperty("name").GetString()!)).ToList();

    // ollama's template/chatml.gotmpl and llama3-instruct.gotmpl, as the files read at commit fb30760.
    const string ChatML = "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n";
    const string Llama3 = "{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>\n{{- end }}<|start_header_id|>assistant<|end_header_id|>\n\n";

    [Fact]
    public void DetectsTheFamilyOllamaItselfMatchesToEachRealTemplate()
    {
        var ours = Enum.GetValues<ChatTemplateFamily>().Select(f => f.OllamaName()).ToHashSet();
        var index = OllamaIndex();
        Assert.Equal(37, index.Count);
        foreach (var (template, name) in index)
            Assert.Equal(ours.Contains(name) ? name : null, ChatTemplateFamilies.Detect(template)?.OllamaName());
        // Every shipped family but Phi-4 (which ollama's index lacks) is among them.
        Assert.Equal(ours.Where(n => n != "phi-4").Order(), index.Select(e => e.Name).Where(ours.Contains).Distinct().Order());
    }

    [Fact]
    public void DetectsPhi4ByItsSeparator()
    {
        // Phi-4's tokenizer_config.json chat_template (microsoft/phi-4).
        const string phi4 = "{% for message in messages %}{% if (message['role'] == 'system') %}{{'<|im_start|>system<|im_sep|>' + message['content'] + '<|im_end|>'}}{% elif (message['role'] == 'user') %}{{'<|im_start|>user<|im_sep|>' + message['content'] + '<|im_end|>'}}{% elif (message['role'] == 'assistant') %}{{'<|im_start|>assistant<|im_sep|>' + message['content'] + '<|im_end|>'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant<|im_sep|>' }}{% endif %}";
        Assert.Equal(ChatTemplateFamily.Phi4, ChatTemplateFamilies.Detect(phi4));
        Assert.Contains("<|im_start|>{{ .Role }}<|im_sep|>{{ .Content }}<|im_end|>", OllamaTemplate.For(ChatTemplateFamily.Phi4).Text);
    }

    string Gguf(string? chatTemplate = null)
    {
        var path = Path.Combine(Dir, "out", "tiny.gguf");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var writer = new GgufWriter().Add("general.architecture", GgufValue.Of("llama"));
        if (chatTemplate is not null) writer.Add("tokenizer.chat_template", GgufValue.Of(chatTemplate));
        writer.AddTensor("t", GgmlType.F32, [1], [0f]).Write(path);
        return path;
    }

    string Checkpoint(string chatTemplate)
    {
        var folder = Path.Combine(Dir, "model");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), JsonSerializer.Serialize(new { eos_token = "<|im_end|>", chat_template = chatTemplate }));
        return folder;
    }

    [Fact]
    public void WritesFromTemplateStopsAndSystemFieldByField()
    {
        var qwen = OllamaIndex().First(e => e.Name == "chatml").Template;
        var gguf = Gguf();
        var modelfile = Path.Combine(Dir, "out", "Modelfile");
        OllamaExport.Write(gguf, modelfile, new OllamaExport.Options
            { ChatTemplate = CheckpointChatTemplate.Read(Checkpoint(qwen)), System = "You answer in one \"short\" line.\nAlways." });

        var commands = ModelfileParser.Parse(File.ReadAllText(modelfile));
        Assert.Equal(
            [("model", "./tiny.gguf"), ("template", ChatML), ("stop", "<|im_start|>"), ("stop", "<|im_end|>"), ("system", "You answer in one \"short\" line.\nAlways.")],
            commands);
        Assert.StartsWith("# " + OllamaExport.Signature, File.ReadAllText(modelfile));
    }

    [Fact]
    public void ReadsTheTemplateFromTheGgufAndWritesLlama3sForm()
    {
        var llama = OllamaIndex().First(e => e.Name == "llama3-instruct").Template;
        var gguf = Gguf(llama);
        var modelfile = Path.Combine(Dir, "elsewhere", "Modelfile");
        OllamaExport.Write(gguf, modelfile, new OllamaExport.Options { ChatTemplate = CheckpointChatTemplate.Read(gguf) });
        Assert.Equal(
            [("model", "../out/tiny.gguf"), ("template", Llama3), ("stop", "<|start_header_id|>"), ("stop", "<|end_header_id|>"), ("stop", "<|eot_id|>")],
            ModelfileParser.Parse(File.ReadAllText(modelfile)));
    }

    [Fact]
    public void RefusesAnUnknownFamilyUnlessGivenATemplateFile()
    {
        var alpaca = OllamaIndex().First(e => e.Name == "alpaca").Template;
        var gguf = Gguf();
        var modelfile = Path.Combine(Dir, "out", "Modelfile");
        var options = new OllamaExport.Options { ChatTemplate = CheckpointChatTemplate.Read(Checkpoint(alpaca)) };
        var e = Assert.Throws<InvalidSettingException>(() => OllamaExport.Write(gguf, modelfile, options));
        Assert.Contains("tokenizer_config.json", e.Message);
        Assert.Contains("OllamaExport.Options.TemplateFile", e.Message);
        Assert.False(File.Exists(modelfile));
        var none = Assert.Throws<InvalidSettingException>(() => OllamaExport.Write(gguf, modelfile, new OllamaExport.Options()));
        Assert.Contains("no chat template", none.Message);

        var own = Path.Combine(Dir, "alpaca.gotmpl");
        File.WriteAllText(own, "{{ range .Messages }}### {{ .Role }}:\n{{ .Content }}\n\n{{ end }}### Response:\n");
        OllamaExport.Write(gguf, modelfile, options with { TemplateFile = own, Stops = ["### Instruction:"] });
        Assert.Equal([("model", "./tiny.gguf"), ("template", File.ReadAllText(own)), ("stop", "### Instruction:")], ModelfileParser.Parse(File.ReadAllText(modelfile)));
    }

    [Fact]
    public void RefusesWhatTheModelfileCannotHoldAndAModelfileItDidNotWrite()
    {
        var gguf = Gguf();
        var modelfile = Path.Combine(Dir, "out", "Modelfile");
        var chatml = new CheckpointChatTemplate.Found("<|im_start|>", "test");
        var e = Assert.Throws<QuantTuneException>(() => OllamaExport.Write(gguf, modelfile, new OllamaExport.Options { ChatTemplate = chatml, System = "say \"\"\" and stop" }));
        Assert.Contains("SYSTEM", e.Message);
        Assert.Throws<QuantTuneException>(() => OllamaExport.Write(gguf, modelfile, new OllamaExport.Options { ChatTemplate = chatml, Stops = ["a\"b"] }));
        File.WriteAllText(modelfile, "FROM llama3\n");
        var foreign = Assert.Throws<QuantTuneException>(() => OllamaExport.Write(gguf, modelfile, new OllamaExport.Options { ChatTemplate = chatml }));
        Assert.Contains("not written by quanttune", foreign.Message);
        Assert.Equal("FROM llama3\n", File.ReadAllText(modelfile));
    }

    [Fact]
    public void FindsTheTemplateWhereTransformersLooks()
    {
        var folder = Checkpoint("{{ '<|im_start|>' }}");
        Assert.Equal("{{ '<|im_start|>' }}", CheckpointChatTemplate.Read(folder)!.Template);
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"),
            """{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}""");
        Assert.Equal("D", CheckpointChatTemplate.Read(folder)!.Template);
        File.WriteAllText(Path.Combine(folder, "chat_template.jinja"), "J");
        Assert.Equal("J", CheckpointChatTemplate.Read(folder)!.Template);
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), """{"chat_template": 3}""");
        File.Delete(Path.Combine(folder, "chat_template.jinja"));
        var e = Assert.Throws<InvalidFormatException>(() => CheckpointChatTemplate.Read(folder));
        Assert.Equal("chat_template", e.Field);
        Assert.Null(CheckpointChatTemplate.Read(Gguf()));
    }
}
