using System.Text.Json.Nodes;
using QuantTune.Formats.Gguf;
using QuantTune.Models.Loading;
using QuantTune.Tokenization.ChatTemplates;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary>
/// <c>export gguf</c> writes the model's chat template as <c>tokenizer.chat_template</c> and its
/// end-of-turn id as <c>tokenizer.ggml.eot_token_id</c>; reading the file back gives the same template,
/// rendering the same text, and the same BOS/EOS strings.
/// </summary>
public class GgufChatTemplateTests() : TempFolderTest("qt-gguf-chat")
{
    [Fact]
    public void The_template_and_end_of_turn_id_round_trip()
    {
        string model = Path.Combine(Dir, "model");
        Directory.CreateDirectory(model);
        foreach (string f in Directory.GetFiles(TestData.TinyLlamaDir)) File.Copy(f, Path.Combine(model, Path.GetFileName(f)));
        string source = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "chat-templates", "mistral.jinja"));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "tokenizer_config.json")))!.AsObject();
        config["chat_template"] = source;
        File.WriteAllText(Path.Combine(model, "tokenizer_config.json"), config.ToJsonString());
        var generation = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "generation_config.json")))!.AsObject();
        generation["eos_token_id"] = new JsonArray(2, 3);
        File.WriteAllText(Path.Combine(model, "generation_config.json"), generation.ToJsonString());

        string path = Path.Combine(Dir, "model.gguf");
        using (var pm = PretrainedModel.Load(model)) GgufExport.Write(pm, path, LlamaFileType.F32);

        using (var file = GgufFile.Open(path))
        {
            var (template, eot) = GgufChatTemplate.Read(file);
            Assert.Equal(source, template);
            Assert.Equal(3, eot); // the first end-of-turn id of generation_config.json that is not EOS (2)
            Assert.Equal(2, file.Metadata["tokenizer.ggml.eos_token_id"].AsInt64());
        }
        var fromFolder = ModelChatTemplate.Load(model);
        var fromGguf = ModelChatTemplate.Load(path);
        Assert.False(fromGguf.IsBuiltIn);
        Assert.Equal(("<s>", "</s>"), (fromGguf.BosToken, fromGguf.EosToken));
        ChatMessage[] turns = [new("user", "Hi"), new("assistant", "Hello."), new("user", "Bye")];
        Assert.Equal(fromFolder.Template.Render(turns, fromFolder.Inputs(true)), fromGguf.Template.Render(turns, fromGguf.Inputs(true)));
    }

    [Fact]
    public void A_model_without_a_template_gets_one_only_when_chosen()
    {
        string plain = Path.Combine(Dir, "plain.gguf"), chosen = Path.Combine(Dir, "chosen.gguf");
        using (var pm = PretrainedModel.Load(TestData.TinyLlamaDir))
        {
            GgufExport.Write(pm, plain, LlamaFileType.F32);
            GgufExport.Write(pm, chosen, LlamaFileType.F32, chatTemplate: "zephyr");
        }
        using (var file = GgufFile.Open(plain)) Assert.Null(GgufChatTemplate.Read(file).Template);
        using (var file = GgufFile.Open(chosen)) Assert.Equal(BuiltInChatTemplates.Zephyr, GgufChatTemplate.Read(file).Template);
    }
}
