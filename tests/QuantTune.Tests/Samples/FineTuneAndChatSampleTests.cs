using FineTuneAndChat;

namespace QuantTune.Tests.Samples;

/// <summary>
/// samples/FineTuneAndChat, the README's library example, built against the library's public API (it has no access to
/// internals) and run on tiny-llama: the QLoRA run lowers the held-out perplexity, saves a PEFT adapter, and the chat
/// client over the base with that adapter answers.
/// </summary>
public sealed class FineTuneAndChatSampleTests() : TempFolderTest("qt-sample-")
{
    [Fact]
    public async Task TheSampleFineTunesAndAnswersThroughTheChatClient()
    {
        var chats = Path.Combine(AppContext.BaseDirectory, "assets", "data", "chat-sample.jsonl");
        var result = await Sample.RunAsync(TestData.TinyLlamaDir, chats, Path.Combine(Dir, "run"), steps: 4);
        Assert.True(result.PerplexityAfter < result.PerplexityBefore, $"{result.PerplexityBefore} -> {result.PerplexityAfter}");
        Assert.True(File.Exists(Path.Combine(result.AdapterDirectory, "adapter_config.json")));
        Assert.False(string.IsNullOrWhiteSpace(result.Reply));
    }
}
