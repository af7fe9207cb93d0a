using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using QuantTune.Serving;

namespace QuantTune.Cli.Serving;

/// <summary>What <c>quanttune serve</c> listens on and allows.</summary>
public sealed record ServeOptions
{
    public string Host { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 8080;
    /// <summary>When set, every request must carry <c>Authorization: Bearer</c> this key.</summary>
    public string? ApiKey { get; init; }
    /// <summary>The largest request body accepted, in bytes.</summary>
    public long MaxRequestBytes { get; init; } = 1 << 20;
    /// <summary>The most tokens one reply may ask for (<c>max_tokens</c>).</summary>
    public int MaxTokensLimit { get; init; } = 4096;
}

/// <summary>
/// An OpenAI-compatible HTTP server over an <see cref="IChatClient"/>: <c>GET /v1/models</c>,
/// <c>POST /v1/chat/completions</c> and, when the client is a <see cref="QuantTuneChatClient"/>, the legacy text
/// completion <c>POST /v1/completions</c>, whole or streamed as server-sent events (<c>stream: true</c>), with the
/// OpenAI error shape. The client's function calls go out as OpenAI's <c>tool_calls</c> (<c>message.tool_calls</c>,
/// or <c>delta.tool_calls</c> when streaming) with <c>finish_reason</c> "tool_calls". It listens on the loopback unless told otherwise; the client queues concurrent requests.
/// </summary>
public static class ChatServer
{
    /// <summary>Starts serving <paramref name="client"/> as <paramref name="modelId"/>; the returned app's <c>Urls</c> say where.</summary>
    public static async Task<WebApplication> StartAsync(IChatClient client, string modelId, ServeOptions options)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://{options.Host}:{options.Port}");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxRequestBytes);
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            if (options.ApiKey is { } key && context.Request.Headers.Authorization.ToString() != $"Bearer {key}")
            {
                await Error(context, 401, "invalid_api_key", "the Authorization header must carry the server's API key (Bearer)");
                return;
            }
            await next(context);
        });
        app.MapGet("/v1/models", () => Results.Json(new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray(new JsonObject { ["id"] = modelId, ["object"] = "model", ["created"] = 0, ["owned_by"] = "quanttune" }),
        }));
        app.MapPost("/v1/chat/completions", context => Completions(context, client, modelId, options));
        if (client.GetService<QuantTuneChatClient>() is { } model)
            app.MapPost("/v1/completions", context => TextCompletions(context, model, modelId, options));
        await app.StartAsync();
        return app;
    }

    static async Task Completions(HttpContext context, IChatClient client, string modelId, ServeOptions options)
    {
        if (await Read(context, options, ChatRequest.Parse) is not { } request) return;
        string id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        try
        {
            if (!request.Stream)
            {
                var response = await client.GetResponseAsync(request.Messages, request.Options, context.RequestAborted);
                var calls = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().ToList();
                var message = new JsonObject { ["role"] = "assistant", ["content"] = calls.Count > 0 && response.Text.Length == 0 ? null : response.Text };
                if (calls.Count > 0) message["tool_calls"] = ToolCalls(calls, withIndex: false);
                await context.Response.WriteAsJsonAsync(new JsonObject
                {
                    ["id"] = id, ["object"] = "chat.completion", ["created"] = created, ["model"] = modelId,
                    ["choices"] = new JsonArray(new JsonObject
                    {
                        ["index"] = 0,
                        ["message"] = message,
                        ["finish_reason"] = FinishReason(response.FinishReason),
                    }),
                    ["usage"] = Usage(response.Usage),
                });
                return;
            }
            context.Response.ContentType = "text/event-stream";
            context.Response.Headers.CacheControl = "no-cache";
            await foreach (var update in client.GetStreamingResponseAsync(request.Messages, request.Options, context.RequestAborted))
            {
                var delta = new JsonObject { ["role"] = "assistant", ["content"] = update.Text };
                if (update.Contents.OfType<FunctionCallContent>().ToList() is { Count: > 0 } calls) delta["tool_calls"] = ToolCalls(calls, withIndex: true);
                var chunk = new JsonObject
                {
                    ["id"] = id, ["object"] = "chat.completion.chunk", ["created"] = created, ["model"] = modelId,
                    ["choices"] = new JsonArray(new JsonObject
                    {
                        ["index"] = 0,
                        ["delta"] = delta,
                        ["finish_reason"] = FinishReason(update.FinishReason),
                    }),
                };
                if (update.Contents.OfType<UsageContent>().FirstOrDefault() is { } usage) chunk["usage"] = Usage(usage.Details);
                await context.Response.WriteAsync($"data: {chunk.ToJsonString()}\n\n", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
            await context.Response.WriteAsync("data: [DONE]\n\n", context.RequestAborted);
        }
        catch (QuantTune.Diagnostics.QuantTuneException e) when (!context.Response.HasStarted)
        {
            await Error(context, 400, "invalid_request_error", e.Message);
        }
    }

    /// <summary>
    /// OpenAI's legacy text completion over <paramref name="model"/>: the prompt continued as <c>quanttune generate</c>
    /// continues it, whole (<c>text_completion</c>) or streamed as chunks of the same object with <c>choices[0].text</c> deltas.
    /// </summary>
    static async Task TextCompletions(HttpContext context, QuantTuneChatClient model, string modelId, ServeOptions options)
    {
        if (await Read(context, options, CompletionRequest.Parse) is not { } request) return;
        string id = "cmpl-" + Guid.NewGuid().ToString("N");
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        JsonObject Completion(string text, ChatFinishReason? reason) => new()
        {
            ["id"] = id, ["object"] = "text_completion", ["created"] = created, ["model"] = modelId,
            ["choices"] = new JsonArray(new JsonObject { ["text"] = text, ["index"] = 0, ["logprobs"] = null, ["finish_reason"] = FinishReason(reason) }),
        };
        try
        {
            var updates = model.GetStreamingCompletionAsync(request.Prompt, request.Options, context.RequestAborted);
            if (!request.Stream)
            {
                var text = new System.Text.StringBuilder();
                ChatResponseUpdate? last = null;
                await foreach (var update in updates)
                {
                    text.Append(update.Text);
                    last = update;
                }
                var whole = Completion(text.ToString(), last?.FinishReason);
                whole["usage"] = Usage(last?.Contents.OfType<UsageContent>().FirstOrDefault()?.Details);
                await context.Response.WriteAsJsonAsync(whole);
                return;
            }
            context.Response.ContentType = "text/event-stream";
            context.Response.Headers.CacheControl = "no-cache";
            await foreach (var update in updates)
            {
                var chunk = Completion(update.Text, update.FinishReason);
                if (update.Contents.OfType<UsageContent>().FirstOrDefault() is { } usage) chunk["usage"] = Usage(usage.Details);
                await context.Response.WriteAsync($"data: {chunk.ToJsonString()}\n\n", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
            await context.Response.WriteAsync("data: [DONE]\n\n", context.RequestAborted);
        }
        catch (QuantTune.Diagnostics.QuantTuneException e) when (!context.Response.HasStarted)
        {
            await Error(context, 400, "invalid_request_error", e.Message, "prompt");
        }
    }

    /// <summary>Reads and checks the body; a body it cannot take is answered (400 naming the field, 413) and gives null.</summary>
    static async Task<T?> Read<T>(HttpContext context, ServeOptions options, Func<JsonNode?, int, T> parse) where T : class
    {
        try
        {
            return parse(await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted), options.MaxTokensLimit);
        }
        catch (Exception e) when (e is JsonException or ChatRequestException)
        {
            await Error(context, 400, "invalid_request_error", e.Message, (e as ChatRequestException)?.Param);
        }
        catch (ArgumentException)
        {
            // System.Text.Json's JsonObject refuses a repeated key when the object is first read.
            await Error(context, 400, "invalid_request_error", "an object in the body repeats a key; expected each key once", "body");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await Error(context, 413, "request_too_large", $"the request is larger than {options.MaxRequestBytes} bytes");
        }
        return null;
    }

    static string? FinishReason(ChatFinishReason? reason) =>
        reason is null ? null : reason == ChatFinishReason.Length ? "length" : reason == ChatFinishReason.ToolCalls ? "tool_calls" : "stop";

    /// <summary>OpenAI's <c>tool_calls</c>: id, type, and the function's name with its arguments as a JSON string (streamed chunks number them).</summary>
    static JsonArray ToolCalls(List<FunctionCallContent> calls, bool withIndex) => new([.. calls.Select((c, i) =>
    {
        var call = new JsonObject();
        if (withIndex) call["index"] = i;
        call["id"] = c.CallId;
        call["type"] = "function";
        call["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = JsonSerializer.Serialize(c.Arguments ?? new Dictionary<string, object?>(), CompactJson) };
        return (JsonNode)call;
    })]);

    /// <summary>Microsoft.Extensions.AI's JSON options, unindented (arguments travel as one line).</summary>
    static readonly JsonSerializerOptions CompactJson = new(AIJsonUtilities.DefaultOptions) { WriteIndented = false };

    static JsonObject? Usage(UsageDetails? usage) => usage is null ? null : new JsonObject
    {
        ["prompt_tokens"] = usage.InputTokenCount, ["completion_tokens"] = usage.OutputTokenCount, ["total_tokens"] = usage.TotalTokenCount,
    };

    static Task Error(HttpContext context, int status, string code, string message, string? param = null)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new JsonObject
        {
            ["error"] = new JsonObject { ["message"] = message, ["type"] = status == 401 ? "authentication_error" : "invalid_request_error", ["param"] = param, ["code"] = code },
        });
    }
}
