using System.ClientModel;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.AI;
using OpenAI;
using QuantTune.Cli.Serving;
using QuantTune.Generation;
using QuantTune.Serving;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace QuantTune.Tests.Serving;

/// <summary>
/// quanttune serve driven by clients nobody here wrote: the official OpenAI .NET package (whole and streamed replies
/// equal the chat client's greedy reply on tiny-llama) and Microsoft.Extensions.AI.OpenAI under
/// <c>UseFunctionInvocation()</c> for a tool round trip. tiny-llama does not call tools by itself, so the round-trip
/// server's first reply comes from a scripted token source (the client's <c>tokens</c> seam: the ids of a Qwen-style
/// call, detokenized and parsed by the real client and sent by the real server); the answer after the tool result is
/// tiny-llama's own greedy decode. A client that disconnects mid-stream stops the decode.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class OpenAiClientServeTests : IAsyncLifetime
{
    static readonly string QwenTemplate = Path.Combine(AppContext.BaseDirectory, "fixtures", "compat", "Qwen--Qwen2.5-0.5B-Instruct", "tokenizer_config.json");
    const string Call = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";

    private readonly ModelSession _session = ModelSession.Open(TestData.TinyLlamaDir, TorchSharp.torch.ScalarType.Float32, TorchSharp.torch.CPU, null, null);
    private QuantTuneChatClient _plain = null!, _tools = null!, _endless = null!;
    private ChatSession _qwen = null!;
    private readonly List<WebApplication> _apps = [];
    private Uri _plainUri = null!, _toolsUri = null!, _endlessUri = null!;
    private readonly List<(int[] Ids, string Text)> _toolPrompts = [];
    private int _endlessTokens;

    public async Task InitializeAsync()
    {
        var zephyr = ChatSession.For(_session.Pretrained);
        var qwen = _qwen = ChatSession.For(_session.Pretrained, choice: QwenTemplate);
        _plain = new QuantTuneChatClient(_session, zephyr, "tiny-llama");
        // Until the conversation holds a tool result, the reply is the call; then the model answers by itself.
        _tools = new QuantTuneChatClient(_session, qwen, "tiny-llama", tokens: (prompt, sampling) =>
        {
            string text = _session.Pretrained.Tokenizer.Decode(prompt);
            lock (_toolPrompts) _toolPrompts.Add(([.. prompt], text));
            return text.Contains("<tool_response>", StringComparison.Ordinal) ? _session.Generate(prompt, sampling)
                : [.. _session.Pretrained.Tokenizer.Encode(Call), qwen.EndOfTurn[0]];
        });
        // A reply that never ends by itself: only the client going away stops it.
        int word = _session.Pretrained.Tokenizer.Encode("hello").Last();
        _endless = new QuantTuneChatClient(_session, zephyr, "tiny-llama", tokens: (_, sampling) => Endless(word, sampling.MaxNewTokens));
        _plainUri = await Start(_plain);
        _toolsUri = await Start(_tools);
        _endlessUri = await Start(_endless);
    }

    IEnumerable<int> Endless(int word, int count)
    {
        for (int i = 0; i < count; i++)
        {
            Interlocked.Increment(ref _endlessTokens);
            Thread.Sleep(5);
            yield return word;
        }
    }

    async Task<Uri> Start(IChatClient client)
    {
        var app = await ChatServer.StartAsync(client, "tiny-llama", new ServeOptions { Port = 0, ApiKey = "secret", MaxTokensLimit = 4096 });
        _apps.Add(app);
        return new Uri(app.Urls.Single() + "/v1");
    }

    public async Task DisposeAsync()
    {
        foreach (var app in _apps) await app.DisposeAsync();
        _plain.Dispose();
        _tools.Dispose();
        _endless.Dispose();
        _session.Dispose();
    }

    /// <summary>tiny-llama's greedy reply to <paramref name="prompt"/>, stopped at the Qwen template's end of turn, decoded by hand.</summary>
    string GreedyReply(int[] prompt, int maxTokens)
    {
        var decoder = new QuantTune.Tokenization.TokenStreamDecoder(_session.Pretrained.Tokenizer, prompt);
        var text = new System.Text.StringBuilder();
        foreach (int id in _session.Generate(prompt, new SamplingOptions { MaxNewTokens = maxTokens }))
        {
            if (_qwen.EndOfTurn.Contains(id)) break;
            text.Append(decoder.Add(id));
        }
        return text.Append(decoder.Flush()).ToString();
    }

    static OpenAI.Chat.ChatClient OpenAiClient(Uri endpoint) =>
        new("tiny-llama", new ApiKeyCredential("secret"), new OpenAIClientOptions { Endpoint = endpoint });

    [Fact]
    public async Task TheOpenAiClientGetsTheChatClientsReplyWholeAndStreamed()
    {
        var expected = await _plain.GetResponseAsync(
            [new(ChatRole.System, "Answer briefly."), new(ChatRole.User, "What is the capital of France?")], new ChatOptions { MaxOutputTokens = 12 });
        var openAi = OpenAiClient(_plainUri);
        OpenAI.Chat.ChatMessage[] messages = [new OpenAI.Chat.SystemChatMessage("Answer briefly."), new OpenAI.Chat.UserChatMessage("What is the capital of France?")];
        var options = new OpenAI.Chat.ChatCompletionOptions { MaxOutputTokenCount = 12 };

        var completion = (await openAi.CompleteChatAsync(messages, options)).Value;
        Assert.Equal(expected.Text, string.Concat(completion.Content.Select(c => c.Text)));
        Assert.Equal(expected.Usage!.OutputTokenCount, completion.Usage.OutputTokenCount);

        var streamed = new List<string>();
        await foreach (var update in openAi.CompleteChatStreamingAsync(messages, options))
            streamed.AddRange(update.ContentUpdate.Select(c => c.Text));
        Assert.True(streamed.Count > 2, $"{streamed.Count} pieces");
        Assert.Equal(expected.Text, string.Concat(streamed));
    }

    [Fact]
    public async Task AToolRoundTripWorksUnderUseFunctionInvocation()
    {
        var invoked = new List<string>();
        var weather = AIFunctionFactory.Create((string city) => { invoked.Add(city); return $"sunny in {city}"; }, "get_weather", "Current weather in a city");
        var options = new ChatOptions { Tools = [weather], MaxOutputTokens = 8 };
        List<AiChatMessage> question = [new(ChatRole.User, "What is the weather in Paris?")];

        // Whole replies: the call goes out as OpenAI tool_calls, the result comes back as a tool message.
        using var client = new ChatClientBuilder(OpenAiClient(_toolsUri).AsIChatClient()).UseFunctionInvocation().Build();
        var response = await client.GetResponseAsync(question, options);
        Assert.Equal(["Paris"], invoked);
        var call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("get_weather", call.Name);
        var result = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>());
        Assert.Equal(call.CallId, result.CallId);
        // The second prompt holds the call and the result in the Qwen template's turns; the answer is tiny-llama's greedy reply to it.
        var (ids, prompt) = _toolPrompts[^1];
        Assert.Contains("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>", prompt);
        Assert.Contains("sunny in Paris", ChatTranscript.ResultText(result.Result));
        Assert.Contains("<tool_response>\n" + ChatTranscript.ResultText(result.Result) + "\n</tool_response>", prompt);
        string answer = GreedyReply(ids, 8);
        Assert.Equal(answer, response.Messages[^1].Text);
        Assert.NotEqual(ChatFinishReason.ToolCalls, response.FinishReason);

        // Streamed: the call arrives as delta.tool_calls and is invoked the same way; no call text is streamed.
        invoked.Clear();
        var text = new System.Text.StringBuilder();
        await foreach (var update in client.GetStreamingResponseAsync(question, options)) text.Append(update.Text);
        Assert.Equal(["Paris"], invoked);
        Assert.DoesNotContain("<tool_call>", text.ToString());
        Assert.Equal(answer, text.ToString());
    }

    [Fact]
    public async Task TheServerSendsOpenAisToolCallShape()
    {
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", "secret");
        var body = new JsonObject
        {
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Weather in Paris?" }),
            ["tools"] = new JsonArray(new JsonObject
            {
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = "get_weather", ["parameters"] = new JsonObject { ["type"] = "object", ["properties"] = new JsonObject { ["city"] = new JsonObject { ["type"] = "string" } } } },
            }),
        };
        var reply = JsonNode.Parse(await (await http.PostAsJsonAsync(_toolsUri + "/chat/completions", body)).Content.ReadAsStringAsync())!;
        var choice = reply["choices"]![0]!;
        Assert.Equal("tool_calls", choice["finish_reason"]!.GetValue<string>());
        Assert.Null(choice["message"]!["content"]);
        var call = choice["message"]!["tool_calls"]![0]!;
        Assert.Equal(9, call["id"]!.GetValue<string>().Length);
        Assert.Equal("function", call["type"]!.GetValue<string>());
        Assert.Equal("get_weather", call["function"]!["name"]!.GetValue<string>());
        Assert.Equal("{\"city\":\"Paris\"}", call["function"]!["arguments"]!.GetValue<string>());
    }

    [Fact]
    public async Task AClientThatDisconnectsMidStreamStopsTheDecode()
    {
        // No draining of the abandoned reply (HttpClient would read on for up to 2 s to reuse the connection): it closes at once.
        using var http = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 });
        http.DefaultRequestHeaders.Authorization = new("Bearer", "secret");
        var body = new JsonObject { ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }), ["max_tokens"] = 4096, ["stream"] = true };
        var request = new HttpRequestMessage(HttpMethod.Post, _endlessUri + "/chat/completions") { Content = JsonContent.Create(body) };
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var stream = await response.Content.ReadAsStreamAsync();
        var reader = new StreamReader(stream);
        Assert.StartsWith("data: ", await reader.ReadLineAsync());
        response.Dispose();

        // The next request is served once the turn is free: the abandoned decode stopped long before its 4,096 tokens (over 20 s).
        var clock = Stopwatch.StartNew();
        var next = await http.PostAsJsonAsync(_endlessUri + "/chat/completions", new JsonObject { ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }), ["max_tokens"] = 3 });
        Assert.Equal(System.Net.HttpStatusCode.OK, next.StatusCode);
        Assert.True(_endlessTokens < 2048, $"{_endlessTokens} tokens decoded");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"{clock.Elapsed}");
    }
}
