using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Tokenization.ChatTemplates;

namespace QuantTune.Tests.Tokenization.ChatTemplates;

/// <summary>Where a model's template comes from: chat_template.jinja, tokenizer_config.json (a string or named list), --chat-template, or the built-in default.</summary>
public class ModelChatTemplateTests() : TempFolderTest("qt-chat-load")
{
    private static readonly ChatMessage[] Hi = [new("user", "Hi")];

    private string Model(JsonNode? chatTemplate, string? jinja = null)
    {
        string dir = Path.Combine(Dir, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var config = new JsonObject { ["bos_token"] = "<s>", ["eos_token"] = new JsonObject { ["content"] = "</s>" } };
        if (chatTemplate is not null) config["chat_template"] = chatTemplate;
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), config.ToJsonString());
        if (jinja is not null) File.WriteAllText(Path.Combine(dir, "chat_template.jinja"), jinja);
        return dir;
    }

    private static string Render(ModelChatTemplate t) => t.Template.Render(Hi, t.Inputs(true));

    [Fact]
    public void Templates_are_found_in_the_order_transformers_uses()
    {
        Assert.Equal("<s>[config] Hi", Render(ModelChatTemplate.Load(Model("{{ bos_token }}[config] {{ messages[0].content }}"))));
        Assert.Equal("jinja Hi</s>", Render(ModelChatTemplate.Load(Model("config", "jinja {{ messages[0].content }}{{ eos_token }}"))));
        var named = new JsonArray(new JsonObject { ["name"] = "default", ["template"] = "default" }, new JsonObject { ["name"] = "tool_use", ["template"] = "tools" });
        Assert.Equal("default", Render(ModelChatTemplate.Load(Model(named))));
        Assert.Equal("tools", Render(ModelChatTemplate.Load(Model(named.DeepClone()), "tool_use")));
        var none = ModelChatTemplate.Load(Model(null));
        Assert.True(none.IsBuiltIn);
        Assert.Equal("built-in zephyr (the model has no chat template)", none.Origin);
        Assert.Equal("<|user|>\nHi</s>\n<|assistant|>\n", Render(none));
        string file = Path.Combine(Dir, "mine.jinja");
        File.WriteAllText(file, "mine");
        Assert.Equal("mine", Render(ModelChatTemplate.Load(Model(null), file)));
        var e = Assert.Throws<InvalidSettingException>(() => ModelChatTemplate.Load(Model(named.DeepClone()), "nope"));
        Assert.Contains("a template of the model (default, tool_use)", e.Message);
    }

    [Fact]
    public void Strftime_now_reads_the_given_clock_and_missing_tools_are_undefined()
    {
        var template = ChatTemplate.Parse("t", "{{ strftime_now('%d %b %Y, %H:%M') }} {{ tools is defined }} {{ enable_thinking }}");
        var inputs = new ChatTemplateInputs
        {
            Clock = () => new DateTime(2026, 12, 2, 9, 5, 0),
            Variables = new Dictionary<string, JsonNode?> { ["enable_thinking"] = false },
        };
        Assert.Equal("02 Dec 2026, 09:05 False False", template.Render(Hi, inputs));
    }
}
