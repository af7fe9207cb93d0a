using QuantTune.Serving;
using Microsoft.Extensions.AI;
using QuantTune.Generation;
using QuantTune.Tokenization;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace QuantTune.Tests.Generation;

/// <summary>
/// The model as an <see cref="IChatClient"/>: the reply is what the chat path generates for the same conversation
/// (the model's template, greedy, stopping at its end-of-turn ids), streaming gives the same text piece by piece,
/// options map to sampling, cancellation stops between tokens, and concurrent calls queue instead of interleaving.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class ChatClientTests : IDisposable
{
    private readonly QuantTuneChatClient _client = QuantTuneChatClient.Open(TestData.TinyLlamaDir);

    public void Dispose() => _client.Dispose();

    static List<AiChatMessage> Conversation(string question = "What is the capital of France?") =>
        [new(ChatRole.System, "Answer briefly."), new(ChatRole.User, question)];

    /// <summary>The reply the library's chat pieces give: tiny-llama's template (zephyr), greedy, stopped at its end-of-turn ids.</summary>
    static (string Text, int Generated) Expected(string question, int maxTokens)
    {
        using var session = ModelSession.Open(TestData.TinyLlamaDir, TorchSharp.torch.ScalarType.Float32, TorchSharp.torch.CPU, null, null);
        var chat = ChatSession.For(session.Pretrained, systemPrompt: "Answer briefly.");
        int[] prompt = chat.Ask(question);
        var decoder = new TokenStreamDecoder(session.Pretrained.Tokenizer, prompt);
        var text = new System.Text.StringBuilder();
        int generated = 0;
        foreach (int id in session.Generate(prompt, new SamplingOptions { MaxNewTokens = maxTokens }))
        {
            generated++;
            if (chat.EndOfTurn.Contains(id)) break;
            text.Append(decoder.Add(id));
        }
        return (text.Append(decoder.Flush()).ToString(), generated);
    }

    [Fact]
    public async Task TheReplyIsTheChatPathsGreedyReply()
    {
        var (expected, generated) = Expected("What is the capital of France?", 24);
        var response = await _client.GetResponseAsync(Conversation(), new ChatOptions { MaxOutputTokens = 24 });
        Assert.Equal(expected, response.Text);
        Assert.Equal(ChatRole.Assistant, response.Messages.Single().Role);
        Assert.Equal(generated, response.Usage!.OutputTokenCount);
        Assert.True(response.Usage.InputTokenCount > 10);
        Assert.Equal(generated == 24 ? ChatFinishReason.Length : ChatFinishReason.Stop, response.FinishReason);
    }

    [Fact]
    public async Task StreamingGivesTheSameTextPieceByPiece()
    {
        var options = new ChatOptions { MaxOutputTokens = 16 };
        var whole = await _client.GetResponseAsync(Conversation(), options);
        var pieces = new List<string>();
        await foreach (var update in _client.GetStreamingResponseAsync(Conversation(), options)) pieces.Add(update.Text);
        Assert.True(pieces.Count > 2, $"{pieces.Count} updates");
        Assert.Equal(whole.Text, string.Concat(pieces));
    }

    [Fact]
    public async Task OptionsMapToSampling()
    {
        var three = await _client.GetResponseAsync(Conversation(), new ChatOptions { MaxOutputTokens = 3 });
        Assert.Equal(3, three.Usage!.OutputTokenCount);
        Assert.Equal(ChatFinishReason.Length, three.FinishReason);

        // The same seed gives the same sampled reply.
        var sampled = new ChatOptions { MaxOutputTokens = 12, Temperature = 1.5f, TopK = 50, TopP = 0.95f, Seed = 7 };
        var a = await _client.GetResponseAsync(Conversation(), sampled);
        var b = await _client.GetResponseAsync(Conversation(), sampled);
        Assert.Equal(a.Text, b.Text);

        // A stop sequence ends the reply where it begins: the greedy reply cut at its second word.
        var greedy = (await _client.GetResponseAsync(Conversation(), new ChatOptions { MaxOutputTokens = 24 })).Text;
        string stop = greedy.Trim().Split(' ') is { Length: > 1 } words ? " " + words[1] : greedy[^2..];
        var cut = await _client.GetResponseAsync(Conversation(), new ChatOptions { MaxOutputTokens = 24, StopSequences = [stop] });
        Assert.Equal(greedy[..greedy.IndexOf(stop, StringComparison.Ordinal)], cut.Text);
        Assert.Equal(ChatFinishReason.Stop, cut.FinishReason);
    }

    [Fact]
    public async Task CancellationStopsBetweenTokens()
    {
        using var cancel = new CancellationTokenSource();
        int seen = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in _client.GetStreamingResponseAsync(Conversation(), new ChatOptions { MaxOutputTokens = 200 }, cancel.Token))
            {
                if (++seen == 2) cancel.Cancel();
            }
        });
        Assert.Equal(2, seen);
        // The client is usable again: the turn was released.
        Assert.NotNull((await _client.GetResponseAsync(Conversation(), new ChatOptions { MaxOutputTokens = 2 })).Text);
    }

    [Fact]
    public async Task ConcurrentCallsQueueAndGiveWhatTheyGiveAlone()
    {
        var options = new ChatOptions { MaxOutputTokens = 12 };
        string first = (await _client.GetResponseAsync(Conversation("What is the capital of France?"), options)).Text;
        string second = (await _client.GetResponseAsync(Conversation("Name a color."), options)).Text;
        var both = await Task.WhenAll(
            _client.GetResponseAsync(Conversation("What is the capital of France?"), options),
            _client.GetResponseAsync(Conversation("Name a color."), options));
        Assert.Equal(first, both[0].Text);
        Assert.Equal(second, both[1].Text);
    }

    [Fact]
    public void ItDescribesItself()
    {
        var metadata = Assert.IsType<ChatClientMetadata>(_client.GetService(typeof(ChatClientMetadata)));
        Assert.Equal("QuantTune", metadata.ProviderName);
        Assert.Equal("tiny-llama", metadata.DefaultModelId);
        Assert.Same(_client, _client.GetService(typeof(IChatClient)));
    }
}
