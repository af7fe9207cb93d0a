using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace QuantTune.Cli.Serving;

/// <summary>
/// An OpenAI legacy <c>/v1/completions</c> request: <c>prompt</c> (a string, or a list of one string),
/// <c>max_tokens</c> (16 when not given, as OpenAI), <c>temperature</c>, <c>top_p</c>, <c>stop</c>, <c>seed</c> and
/// <c>stream</c>, checked as <see cref="ChatRequest"/> checks them.
/// </summary>
public sealed record CompletionRequest(string Prompt, ChatOptions Options, bool Stream)
{
    /// <summary>OpenAI's default <c>max_tokens</c> for a text completion.</summary>
    public const int DefaultMaxTokens = 16;

    public static CompletionRequest Parse(JsonNode? body, int maxTokensLimit)
    {
        if (body is not JsonObject o) throw new ChatRequestException("body", "expected a JSON object");
        string prompt = o["prompt"] switch
        {
            JsonValue v when v.TryGetValue(out string? text) => text,
            JsonArray { Count: 1 } one when one[0] is JsonValue v && v.TryGetValue(out string? text) => text,
            _ => throw new ChatRequestException("prompt", "expected a string or a list of one string"),
        };
        var options = new ChatOptions
        {
            MaxOutputTokens = ChatRequest.Int(o["max_tokens"], "max_tokens", 1, maxTokensLimit) ?? Math.Min(DefaultMaxTokens, maxTokensLimit),
            Temperature = (float?)ChatRequest.Number(o["temperature"], "temperature", 0, 2),
            TopP = (float?)ChatRequest.Number(o["top_p"], "top_p", double.Epsilon, 1),
            Seed = ChatRequest.Int(o["seed"], "seed", int.MinValue, int.MaxValue),
            StopSequences = ChatRequest.Stops(o["stop"]),
        };
        bool stream = o["stream"] switch { null => false, JsonValue v when v.TryGetValue(out bool b) => b, _ => throw new ChatRequestException("stream", "expected true or false") };
        return new CompletionRequest(prompt, options, stream);
    }
}
