using System.Text.Json.Nodes;
using QuantTune.Tokenization.ChatTemplates;

namespace QuantTune.Tests.Tokenization.ChatTemplates;

/// <summary>
/// The real chat templates of Llama 3.1, Qwen3, Gemma 3, Mistral, Phi-4, DeepSeek R1/V3 and SmolLM2
/// rendered for multi-turn, system, generation-prompt, thinking and tool cases must equal, byte for
/// byte, what @huggingface/jinja renders (tests/fixtures/chat-templates/expected.json, made by
/// tools/chat-templates/render.mjs); where it raises, so must we.
/// </summary>
public class ChatTemplateReferenceTests
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "fixtures", "chat-templates");

    public static TheoryData<string, string> Renders()
    {
        var data = new TheoryData<string, string>();
        foreach (JsonNode? r in JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures, "expected.json")))!.AsArray())
        {
            data.Add(r!["template"]!.GetValue<string>(), r["case"]!.GetValue<string>());
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Renders))]
    public void Renders_like_huggingface_jinja(string templateName, string caseName)
    {
        JsonObject manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures, "templates.json")))!.AsArray()
            .Single(t => t!["name"]!.GetValue<string>() == templateName)!.AsObject();
        JsonObject testCase = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures, "cases.json")))!.AsArray()
            .Single(c => c!["name"]!.GetValue<string>() == caseName)!.AsObject();
        JsonObject expected = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures, "expected.json")))!.AsArray()
            .Single(r => r!["template"]!.GetValue<string>() == templateName && r["case"]!.GetValue<string>() == caseName)!.AsObject();

        string file = Path.Combine(Fixtures, manifest["file"]!.GetValue<string>());
        ChatTemplate template = ChatTemplate.Parse(file, File.ReadAllText(file));
        var inputs = new ChatTemplateInputs
        {
            AddGenerationPrompt = testCase["add_generation_prompt"]?.GetValue<bool>() ?? false,
            BosToken = manifest["bos_token"]?.GetValue<string>(),
            EosToken = manifest["eos_token"]?.GetValue<string>(),
            Tools = testCase["tools"]?.DeepClone().AsArray(),
            Variables = (testCase["variables"]?.AsObject() ?? []).ToDictionary(p => p.Key, p => p.Value?.DeepClone()),
        };
        JsonArray messages = testCase["messages"]!.DeepClone().AsArray();

        if (expected["error"] is { } error)
        {
            var thrown = Assert.Throws<ChatTemplateException>(() => template.Render(messages, inputs));
            Assert.Contains(error.GetValue<string>(), thrown.Message);
        }
        else
        {
            Assert.Equal(expected["output"]!.GetValue<string>(), template.Render(messages, inputs));
        }
    }
}
