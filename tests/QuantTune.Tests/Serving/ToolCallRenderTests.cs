using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using QuantTune.Serving;
using QuantTune.Serving.Tools;
using QuantTune.Tokenization.ChatTemplates;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace QuantTune.Tests.Serving;

/// <summary>
/// A Microsoft.Extensions.AI conversation with tools, an assistant's function call and its result, mapped by
/// <see cref="ChatTranscript"/> and rendered by QuantTune's template engine, equals byte for byte what transformers'
/// jinja2 environment renders from the real Qwen 2.5, Qwen 3, Llama 3.1 and Llama 3.2 templates
/// (tests/fixtures/tool-calls/expected-prompts.json, made by tools/chat-templates/render_tools.py); and each
/// template picks the call format that its prompt asks the model to write.
/// </summary>
public sealed class ToolCallRenderTests
{
    static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "fixtures");

    static List<AiChatMessage> Conversation(string name)
    {
        List<AiChatMessage> question = [new(ChatRole.System, "You are a concise assistant."), new(ChatRole.User, "What is the weather in Paris?")];
        if (name == "tools") return question;
        return [.. question,
            new(ChatRole.Assistant, [new FunctionCallContent("call00001", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris", ["days"] = 2 })]),
            new(ChatRole.Tool, [new FunctionResultContent("call00001", "{\"temp\": 18, \"sky\": \"sunny\"}")])];
    }

    static string TemplateSource(string file)
    {
        string path = Path.Combine(Fixtures, file);
        return file.EndsWith(".jinja", StringComparison.Ordinal) ? File.ReadAllText(path)
            : JsonNode.Parse(File.ReadAllText(path))!["chat_template"]!.GetValue<string>();
    }

    [Fact]
    public void ToolPromptsRenderLikeTransformers()
    {
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures, "tool-calls", "expected-prompts.json")))!;
        var function = expected["tools"]![0]!["function"]!;
        AITool tool = AIFunctionFactory.CreateDeclaration(function["name"]!.GetValue<string>(), function["description"]!.GetValue<string>(),
            JsonSerializer.SerializeToElement(function["parameters"]));
        var formats = new Dictionary<string, string>();
        var renders = expected["renders"]!.AsArray();
        Assert.Equal(8, renders.Count);
        foreach (var render in renders)
        {
            string name = render!["template"]!.GetValue<string>(), file = render["file"]!.GetValue<string>(), @case = render["case"]!.GetValue<string>();
            string source = TemplateSource(file);
            var inputs = new ChatTemplateInputs
            {
                AddGenerationPrompt = true,
                BosToken = render["bos_token"]?.GetValue<string>(),
                Tools = ChatTranscript.Tools([tool]),
                Variables = new Dictionary<string, JsonNode?> { ["date_string"] = "26 Jul 2024" },
            };
            string prompt = ChatTemplate.Parse(name, source).Render(ChatTranscript.Messages(Conversation(@case)), inputs);
            Assert.True(render["prompt"]!.GetValue<string>() == prompt, $"{name} / {@case}:\n{prompt}");
            formats[name] = ToolCallFormats.For(source)?.Name ?? "none";
        }
        Assert.Equal("hermes", formats["qwen2.5"]);
        Assert.Equal("hermes", formats["qwen3"]);
        Assert.Equal("llama3-json", formats["llama-3.1"]);
        Assert.Equal("llama3-json", formats["llama-3.2"]);
        // Templates without tools (Gemma 3, Phi-4) define no format; their replies stay text.
        Assert.Null(ToolCallFormats.For(File.ReadAllText(Path.Combine(Fixtures, "chat-templates", "gemma-3.jinja"))));
        Assert.Null(ToolCallFormats.For(File.ReadAllText(Path.Combine(Fixtures, "chat-templates", "phi-4.jinja"))));
    }
}
