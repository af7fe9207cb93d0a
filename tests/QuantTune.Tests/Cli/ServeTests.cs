using QuantTune.Serving;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using QuantTune.Cli.Serving;
using QuantTune.Generation;

namespace QuantTune.Tests.Cli;

/// <summary>
/// quanttune serve's OpenAI-compatible endpoint on the loopback: the models list, a chat completion equal to the
/// chat client's reply, the same text streamed as server-sent events, the API key, and bodies a stranger could send
/// refused with OpenAI's error shape and the field named.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class ServeTests : IAsyncLifetime
{
    private readonly QuantTuneChatClient _client = QuantTuneChatClient.Open(TestData.TinyLlamaDir);
    private WebApplication? _app;
    private readonly HttpClient _http = new();

    public async Task InitializeAsync()
    {
        _app = await ChatServer.StartAsync(_client, "tiny-llama", new ServeOptions { Port = 0, ApiKey = "secret", MaxTokensLimit = 64, MaxRequestBytes = 4096 });
        _http.BaseAddress = new Uri(_app.Urls.Single());
        _http.DefaultRequestHeaders.Authorization = new("Bearer", "secret");
    }

    public async Task DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
        _http.Dispose();
        _client.Dispose();
    }

    static JsonObject Body(bool stream = false, int maxTokens = 12) => new()
    {
        ["model"] = "tiny-llama",
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "system", ["content"] = "Answer briefly." }, new JsonObject { ["role"] = "user", ["content"] = "What is the capital of France?" }),
        ["max_tokens"] = maxTokens,
        ["stream"] = stream,
    };

    [Fact]
    public async Task TheModelsListNamesTheModel()
    {
        var list = JsonNode.Parse(await _http.GetStringAsync("/v1/models"))!;
        Assert.Equal("tiny-llama", list["data"]![0]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task ACompletionIsTheChatClientsReplyAndStreamsTheSameText()
    {
        var expected = await _client.GetResponseAsync(
            [new(Microsoft.Extensions.AI.ChatRole.System, "Answer briefly."), new(Microsoft.Extensions.AI.ChatRole.User, "What is the capital of France?")],
            new Microsoft.Extensions.AI.ChatOptions { MaxOutputTokens = 12 });

        var response = await _http.PostAsJsonAsync("/v1/chat/completions", Body());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var completion = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("chat.completion", completion["object"]!.GetValue<string>());
        Assert.Equal(expected.Text, completion["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        Assert.Equal(expected.Usage!.OutputTokenCount, completion["usage"]!["completion_tokens"]!.GetValue<long>());

        var streamed = await _http.PostAsJsonAsync("/v1/chat/completions", Body(stream: true));
        Assert.Equal("text/event-stream", streamed.Content.Headers.ContentType!.MediaType);
        var events = (await streamed.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e["data: ".Length..])!).ToList();
        Assert.True(chunks.Count > 2);
        Assert.Equal(expected.Text, string.Concat(chunks.Select(c => c["choices"]![0]!["delta"]!["content"]!.GetValue<string>())));
        Assert.NotNull(chunks[^1]["choices"]![0]!["finish_reason"]);
    }

    [Fact]
    public async Task ATextCompletionIsTheGreedyContinuationOfGenerateAndStreamsTheSameText()
    {
        const string prompt = "The capital of France is";
        var session = _client.GetService(typeof(ModelSession)) as ModelSession;
        var expected = QuantTune.Cli.Commands.GenerateCommand.Run(session!.Pretrained, prompt, addSpecialTokens: true,
            new SamplingOptions { MaxNewTokens = 10 }, stream: false, session.Generate);
        int generated = expected.OutputIds.Length - expected.PromptIds.Length;
        Assert.Equal(10, generated);
        Assert.DoesNotContain(expected.OutputIds[expected.PromptIds.Length..], session.Pretrained.Config.EosTokenIds.Contains);

        var body = new JsonObject { ["model"] = "tiny-llama", ["prompt"] = new JsonArray(prompt), ["max_tokens"] = 10 };
        var response = await _http.PostAsJsonAsync("/v1/completions", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var completion = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("text_completion", completion["object"]!.GetValue<string>());
        var choice = completion["choices"]![0]!;
        Assert.Equal(expected.Completion, choice["text"]!.GetValue<string>());
        Assert.Equal("length", choice["finish_reason"]!.GetValue<string>());
        Assert.Null(choice["logprobs"]);
        Assert.Equal(expected.PromptIds.Length, completion["usage"]!["prompt_tokens"]!.GetValue<long>());
        Assert.Equal(generated, completion["usage"]!["completion_tokens"]!.GetValue<long>());

        body["prompt"] = prompt;
        body["stream"] = true;
        var streamed = await _http.PostAsJsonAsync("/v1/completions", body);
        Assert.Equal("text/event-stream", streamed.Content.Headers.ContentType!.MediaType);
        var events = (await streamed.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e["data: ".Length..])!["choices"]![0]!).ToList();
        Assert.True(chunks.Count > 2);
        Assert.Equal(expected.Completion, string.Concat(chunks.Select(c => c["text"]!.GetValue<string>())));
        Assert.Equal("length", chunks[^1]["finish_reason"]!.GetValue<string>());

        // Without max_tokens a completion is OpenAI's 16 tokens.
        var byDefault = JsonNode.Parse(await (await _http.PostAsJsonAsync("/v1/completions", new JsonObject { ["prompt"] = prompt })).Content.ReadAsStringAsync())!;
        Assert.Equal(CompletionRequest.DefaultMaxTokens, byDefault["usage"]!["completion_tokens"]!.GetValue<long>());
    }

    /// <summary>One server for every case: each test of this class loads the model again.</summary>
    [Fact]
    public async Task BadCompletionBodiesAreRefusedNamingTheField()
    {
        (string Body, string Param)[] cases =
        [
            ("[1, 2]", "body"),
            ("{\"max_tokens\": 4}", "prompt"),
            ("{\"prompt\": [\"a\", \"b\"]}", "prompt"),
            ("{\"prompt\": \"hi\", \"max_tokens\": 1000000}", "max_tokens"),
            ("{\"prompt\": \"hi\", \"top_p\": 0}", "top_p"),
            ("{\"prompt\": \"hi\", \"stop\": 5}", "stop"),
            ("{\"prompt\": \"hi\", \"stream\": 1}", "stream"),
        ];
        foreach (var (body, param) in cases)
        {
            var response = await _http.PostAsync("/v1/completions", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
            Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
            Assert.Equal(param, error["param"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task WithoutTheKeyTheRequestIsRefused()
    {
        using var anonymous = new HttpClient { BaseAddress = _http.BaseAddress };
        var response = await anonymous.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_api_key", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>());
    }

    public static TheoryData<string, string> BadBodies => new()
    {
        { "[1, 2]", "body" },
        { "{\"messages\": []}", "messages" },
        { "{\"messages\": [{\"role\": \"wizard\", \"content\": \"hi\"}]}", "messages[0].role" },
        { "{\"messages\": [{\"role\": \"user\", \"content\": 5}]}", "messages[0].content" },
        { "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 1000000}", "max_tokens" },
        { "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"temperature\": \"hot\"}", "temperature" },
        { "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"stop\": [\"\"]}", "stop[0]" },
        { "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"stream\": \"yes\"}", "stream" },
        { "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"tools\": [{\"type\": \"function\"}]}", "tools[0].function" },
        { "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": 5}}]}", "tools[0].function.name" },
        { "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"tools\": {}}", "tools" },
        { "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"tool_choice\": \"required\"}", "tool_choice" },
        { "{\"messages\": [{\"role\": \"tool\", \"content\": \"18\"}]}", "messages[0].tool_call_id" },
        { "{\"messages\": [{\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"type\": \"function\", \"function\": {\"name\": \"f\", \"arguments\": \"{oops\"}}]}]}", "messages[0].tool_calls[0].function.arguments" },
        { "{\"messages\": [{\"role\": \"assistant\", \"tool_calls\": [{\"type\": \"function\", \"function\": {\"name\": \"f\"}}]}]}", "messages[0].tool_calls[0].id" },
        { "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\", \"role\": \"tool\"}]}", "body" },
        { "{\"messages\": ", "" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task ABadBodyIsRefusedNamingTheField(string body, string param)
    {
        var response = await _http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        if (param.Length > 0) Assert.Equal(param, error["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task ABodyOverTheSizeLimitIsRefused()
    {
        var big = Body();
        big["messages"]!.AsArray().Add(new JsonObject { ["role"] = "user", ["content"] = new string('x', 10_000) });
        var response = await _http.PostAsJsonAsync("/v1/chat/completions", big);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }
}
