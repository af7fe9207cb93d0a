using System.Text.Json.Nodes;
using QuantTune.Tokenization;
using QuantTune.Tokenization.ChatTemplates;
using QuantTune.Training.Data;

namespace QuantTune.Tests.Training.Data;

/// <summary>
/// With assistant-only loss, the tokens that carry the loss decode back to exactly the assistant
/// turns as the template writes them (content and end-of-turn marker), for templates with different
/// turn markers: Llama 3.1 (headers, &lt;|eot_id|&gt;) and Qwen3 (ChatML, whose last assistant turn gets an
/// empty think block, so its turns are found by the end-of-turn fallback).
/// </summary>
public class ConversationMaskingTests() : TempFolderTest("qt-chat-mask")
{
    private static readonly HfTokenizer Tokenizer = HfTokenizer.FromDirectory(TestData.TinyLlamaDir);

    private const string Conversation =
        """{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}, {"role": "assistant", "content": "Paris."}, {"role": "user", "content": "And Italy?"}, {"role": "assistant", "content": "Rome, since 1871."}]}""";

    [Theory]
    [InlineData("llama-3.1", "Paris.<|eot_id|>", "Rome, since 1871.<|eot_id|>")]
    [InlineData("qwen3", "Paris.<|im_end|>\n", "<think>\n\n</think>\n\nRome, since 1871.<|im_end|>\n")]
    [InlineData("gemma-3", "Paris.<end_of_turn>\n", "Rome, since 1871.<end_of_turn>\n")]
    public void Loss_tokens_decode_to_the_assistant_turns(string templateName, string first, string second)
    {
        ModelChatTemplate template = Fixture(templateName);
        string conversation = templateName == "gemma-3" ? Conversation.Replace("{\"role\": \"system\", \"content\": \"Be brief.\"}, ", "") : Conversation;
        string path = Path.Combine(Dir, "chat.jsonl");
        File.WriteAllText(path, conversation + "\n");

        var set = ConversationDataset.Load(path, Tokenizer, template, new ConversationOptions { MaxLength = 512 });

        TokenizedExample example = Assert.Single(set.Examples);
        Assert.Equal([first, second], LossRuns(example));
        string all = Tokenizer.Decode(example.InputIds.Append(example.Labels[^1]));
        Assert.Equal(template.Template.Render(JsonNode.Parse(conversation)!["messages"]!.AsArray(), template.Inputs(false)), all);
    }

    [Fact]
    public void Whole_conversation_loss_covers_every_token_but_the_first()
    {
        string path = Path.Combine(Dir, "chat.jsonl");
        File.WriteAllText(path, Conversation + "\n");
        var set = ConversationDataset.Load(path, Tokenizer, Fixture("llama-3.1"), new ConversationOptions { MaxLength = 512, AssistantOnlyLoss = false });
        Assert.DoesNotContain(TokenizedExample.Ignore, Assert.Single(set.Examples).Labels);
    }

    [Fact]
    public void ShareGpt_records_and_long_conversations_are_reported_not_silently_dropped()
    {
        string path = Path.Combine(Dir, "sharegpt.json");
        string longReply = string.Join(" ", Enumerable.Repeat("word", 1000));
        File.WriteAllText(path, $$"""
            [
              {"system": "Be brief.", "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello."}]},
              {"conversations": [{"from": "human", "value": "Talk"}, {"from": "gpt", "value": "{{longReply}}"}]}
            ]
            """);
        var template = Fixture("qwen3");
        var dropped = ConversationDataset.Load(path, Tokenizer, template, new ConversationOptions { MaxLength = 200 });
        Assert.Single(dropped.Examples);
        Assert.Equal([3], dropped.OverLong);
        Assert.Equal(["Hello.<|im_end|>\n"], LossRuns(dropped.Examples[0]).Select(r => r.Replace("<think>\n\n</think>\n\n", "")));

        var truncated = ConversationDataset.Load(path, Tokenizer, template, new ConversationOptions { MaxLength = 200, Truncate = true });
        Assert.Equal(2, truncated.Examples.Count);
        Assert.Equal(200, truncated.Examples[1].Length);

    }

    [Fact]
    public void Packing_puts_whole_conversations_together_keeping_their_loss_tokens()
    {
        string path = Path.Combine(Dir, "short.jsonl");
        File.WriteAllText(path, string.Concat(Enumerable.Repeat(Conversation + "\n", 3)));
        var single = ConversationDataset.Load(path, Tokenizer, Fixture("llama-3.1"), new ConversationOptions { MaxLength = 512 });
        var packed = ConversationDataset.Load(path, Tokenizer, Fixture("llama-3.1"), new ConversationOptions { MaxLength = 4096, Pack = true });
        Assert.Equal(3, single.Examples.Count);
        TokenizedExample one = Assert.Single(packed.Examples);
        Assert.Equal(3 * (single.Examples[0].Length + 1) - 1, one.Length);
        Assert.Equal(3 * single.Examples[0].Labels.Count(l => l != TokenizedExample.Ignore), one.Labels.Count(l => l != TokenizedExample.Ignore));
    }

    [Theory]
    [InlineData("""{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant"}]}""", "line 2: field 'messages[1].content' is missing; expected a string")]
    [InlineData("""{"messages": [{"role": "user", "content": "Hi"}]}""", "line 2: has no assistant turn")]
    [InlineData("""{"conversations": [{"from": "alien", "value": "Hi"}]}""", "line 2: field 'conversations[0].from' is 'alien'; expected human, gpt, system or tool")]
    public void Bad_records_name_file_line_and_field_and_are_skipped_only_when_asked(string bad, string problem)
    {
        string path = Path.Combine(Dir, "bad.jsonl");
        File.WriteAllText(path, Conversation + "\n" + bad + "\n");
        var thrown = Assert.Throws<DataRecordException>(() => ConversationDataset.Load(path, Tokenizer, Fixture("llama-3.1"), new ConversationOptions()));
        Assert.Contains(path, thrown.Message);
        Assert.Contains(problem, thrown.Message);
        var skipped = ConversationDataset.Load(path, Tokenizer, Fixture("llama-3.1"), new ConversationOptions { MaxLength = 512 }, skipBadLines: true);
        Assert.Single(skipped.Examples);
        Assert.Single(skipped.Problems);
    }

    /// <summary>The text of each run of consecutive tokens that carry the loss.</summary>
    private static List<string> LossRuns(TokenizedExample example)
    {
        var runs = new List<string>();
        var run = new List<int>();
        foreach (int label in example.Labels.Append(TokenizedExample.Ignore))
        {
            if (label != TokenizedExample.Ignore)
            {
                run.Add(label);
            }
            else if (run.Count > 0)
            {
                runs.Add(Tokenizer.Decode(run));
                run.Clear();
            }
        }
        return runs;
    }

    private static ModelChatTemplate Fixture(string name)
    {
        string file = Path.Combine(AppContext.BaseDirectory, "fixtures", "chat-templates", name + ".jinja");
        return new ModelChatTemplate(ChatTemplate.Parse(file, File.ReadAllText(file)), file, name == "gemma-3" ? "<bos>" : "<|begin_of_text|>", "<eos>", false);
    }
}
