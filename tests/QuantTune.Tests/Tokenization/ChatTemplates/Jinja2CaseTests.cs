using System.Text.Json.Nodes;
using QuantTune.Tokenization.ChatTemplates;

namespace QuantTune.Tests.Tokenization.ChatTemplates;

/// <summary>
/// Small templates for the Jinja features real chat templates reach for (list and dict methods and the sandbox's
/// refusal of the mutating ones, str.format, % and |format, groupby, truncate, loop.changed/cycle/previtem/nextitem,
/// recursive loops, raw, with, and do, which transformers does not enable) must render as Python's jinja2 renders them
/// in transformers' environment (tests/fixtures/chat-templates/jinja2-cases.json, made by
/// tools/chat-templates/jinja2_cases.py); where jinja2 raises, so does QuantTune, with a ChatTemplateException naming the
/// template and line.
/// </summary>
public class Jinja2CaseTests
{
    private const string FixtureName = "jinja2-cases.json";

    private static readonly Lazy<Dictionary<string, JsonObject>> Cases = new(() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "chat-templates", FixtureName)))!.AsArray()
            .Select(c => c!.AsObject()).ToDictionary(c => c["name"]!.GetValue<string>()));

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (string name in Cases.Value.Keys) data.Add(name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Renders_like_jinja2_in_transformers_environment(string name)
    {
        JsonObject testCase = Cases.Value[name];
        string source = testCase["template"]!.GetValue<string>();
        JsonObject context = testCase["context"]!.AsObject();
        JsonArray messages = context["messages"]?.DeepClone().AsArray() ?? [];
        var inputs = new ChatTemplateInputs
        {
            Variables = context.Where(p => p.Key != "messages").ToDictionary(p => p.Key, p => p.Value?.DeepClone()),
            Clock = () => new DateTime(2025, 1, 15, 9, 30, 0),
        };
        string templateName = $"{FixtureName}#{name}";

        if (testCase["error"] is { } error)
        {
            var thrown = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse(templateName, source).Render(messages, inputs));
            Assert.Equal(templateName, thrown.Template);
            Assert.InRange(thrown.Line, 1, source.Split('\n').Length);
            Assert.StartsWith($"chat template {templateName}, line {thrown.Line}: ", thrown.Message);
            if (error.GetValue<string>() == "SecurityError") Assert.Contains(testCase["message"]!.GetValue<string>(), thrown.Message);
        }
        else
        {
            Assert.Equal(testCase["output"]!.GetValue<string>(), ChatTemplate.Parse(templateName, source).Render(messages, inputs));
        }
    }
}
