using QuantTune.Generation;
using QuantTune.Tokenization;
using QuantTune.Tokenization.ChatTemplates;

namespace QuantTune.Tests.Generation;

/// <summary>The chat history goes through the template: each prompt is the whole conversation so far, ending with the generation prompt.</summary>
public class ChatSessionTests
{
    [Fact]
    public void Each_prompt_renders_the_history_and_reset_keeps_the_system_prompt()
    {
        var tokenizer = HfTokenizer.FromDirectory(TestData.TinyLlamaDir);
        var template = ModelChatTemplate.Load(TestData.TinyLlamaDir, "chatml");
        var ends = EndOfTurnTokens.Find(TestData.TinyLlamaDir, tokenizer, [2], template.EosToken);
        Assert.Equal([2], ends);
        var chat = new ChatSession(template, tokenizer, ends, "Be brief.");

        chat.Ask("Hi");
        chat.Answer("Hello.");
        string second = tokenizer.Decode(chat.Ask("Bye"));
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n", second);

        chat.Reset();
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nAgain<|im_end|>\n<|im_start|>assistant\n", tokenizer.Decode(chat.Ask("Again")));
    }
}
