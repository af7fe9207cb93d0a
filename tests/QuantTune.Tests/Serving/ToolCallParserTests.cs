using System.Text.Json.Nodes;
using QuantTune.Serving.Tools;

namespace QuantTune.Tests.Serving;

/// <summary>
/// Each call format reads the replies its models write (the shapes of Qwen 2.5/3 and Hermes, Llama 3.1/3.2 with and
/// without <c>&lt;|python_tag|&gt;</c>, Mistral v3's JSON list and v11's <c>[ARGS]</c>), leaves malformed calls as
/// text, and while streaming holds back only what may be a call.
/// </summary>
public sealed class ToolCallParserTests
{
    static void AssertCall(ToolCall call, string name, string arguments, string? id = null)
    {
        Assert.Equal(name, call.Name);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(arguments), call.Arguments), call.Arguments.ToJsonString());
        Assert.Equal(id, call.Id);
    }

    [Fact]
    public void HermesReadsQwenStyleCalls()
    {
        var format = new HermesToolCallFormat();
        var one = format.Parse("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 2}}\n</tool_call>")!;
        Assert.Equal("", one.Text);
        AssertCall(Assert.Single(one.Calls), "get_weather", "{\"city\": \"Paris\", \"days\": 2}");

        // Thinking text before, two calls, and a last call the model ended at its end of turn before closing.
        var two = format.Parse("Let me check both.\n<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", \"arguments\": \"{\\\"x\\\": [1, 2]}\"}\n")!;
        Assert.Equal("Let me check both.", two.Text);
        AssertCall(two.Calls[0], "a", "{}");
        AssertCall(two.Calls[1], "b", "{\"x\": [1, 2]}");

        Assert.Null(format.Parse("The capital of France is Paris."));
        Assert.Null(format.Parse("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Par"));
        Assert.Null(format.Parse("<tool_call>\n{\"arguments\": {}}\n</tool_call>"));

        Assert.Equal(6, format.PlainTextLength("Sure. <tool_call>\n{\"na"));
        Assert.Equal(6, format.PlainTextLength("Sure. <tool_"));
        Assert.Equal(12, format.PlainTextLength("Sure. Paris."));
    }

    [Fact]
    public void Llama3ReadsJsonCalls()
    {
        var format = new Llama3JsonToolCallFormat();
        AssertCall(Assert.Single(format.Parse("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}")!.Calls), "get_weather", "{\"city\": \"Paris\"}");
        AssertCall(Assert.Single(format.Parse("<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}")!.Calls), "get_weather", "{\"city\": \"Paris\"}");
        var two = format.Parse("{\"name\": \"a\", \"parameters\": {\"n\": 1}}; {\"name\": \"b\", \"parameters\": {}}")!;
        Assert.Equal(["a", "b"], two.Calls.Select(c => c.Name));

        Assert.Null(format.Parse("Paris is the capital of France."));
        Assert.Null(format.Parse("{\"name\": \"get_weather\", \"parameters\": {\"city\": "));
        Assert.Null(format.Parse("{\"city\": \"Paris\"}"));

        Assert.Equal(0, format.PlainTextLength(" {\"name\""));
        Assert.Equal(0, format.PlainTextLength("<|python"));
        Assert.Equal(6, format.PlainTextLength("Paris."));
    }

    [Fact]
    public void MistralReadsBothCallShapes()
    {
        var format = new MistralToolCallFormat();
        var v3 = format.Parse("[TOOL_CALLS] [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}, \"id\": \"abc123def\"}]")!;
        AssertCall(Assert.Single(v3.Calls), "get_weather", "{\"city\": \"Paris\"}", "abc123def");
        var v11 = format.Parse("[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\"}[TOOL_CALLS]get_time[ARGS]{}")!;
        Assert.Equal(["get_weather", "get_time"], v11.Calls.Select(c => c.Name));
        AssertCall(v11.Calls[0], "get_weather", "{\"city\": \"Paris\"}");

        Assert.Null(format.Parse("Paris."));
        Assert.Null(format.Parse("[TOOL_CALLS] [{\"name\": \"get_weather\", \"arguments\": {\"ci"));
        Assert.Null(format.Parse("[TOOL_CALLS]get_weather{\"city\": \"Paris\"}"));
        Assert.Equal(3, format.PlainTextLength("Ok [TOOL_C"));
    }

    /// <summary>
    /// Model output is untrusted: every prefix of a reply with calls (what streaming sees) and thousands of random
    /// corruptions parse to text or calls without an exception, and no prefix streams a character of a call.
    /// </summary>
    [Fact]
    public void NoReplyThrowsAndNoPrefixStreamsACall()
    {
        (IToolCallFormat Format, string Reply, int CallStart)[] replies =
        [
            (new HermesToolCallFormat(), "Checking.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"n\": [1, {\"a\": null}]}}\n</tool_call>", 10),
            (new HermesToolCallFormat(), "<tool_call>\n{\"name\": \"a\", \"name\": \"b\", \"arguments\": {\"x\": 1, \"x\": 2}}\n</tool_call>", 0),
            (new Llama3JsonToolCallFormat(), "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}; {\"name\": \"b\", \"parameters\": {}}", 0),
            (new MistralToolCallFormat(), "Sure [TOOL_CALLS] [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}, \"id\": \"abc123def\"}]", 5),
            (new MistralToolCallFormat(), "[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\"}[TOOL_CALLS]x[ARGS]{}", 0),
        ];
        var random = new Random(32);
        const string alphabet = "{}[]\":,; \n\\<>/|_abcnt0123456789é\u0000";
        foreach (var (format, reply, callStart) in replies)
        {
            for (int n = 0; n <= reply.Length; n++)
            {
                string prefix = reply[..n];
                Assert.InRange(format.PlainTextLength(prefix), 0, Math.Min(n, callStart));
                _ = format.Parse(prefix);
            }
            for (int i = 0; i < 2000; i++)
            {
                var chars = reply.ToCharArray();
                for (int k = random.Next(1, 4); k > 0; k--) chars[random.Next(chars.Length)] = alphabet[random.Next(alphabet.Length)];
                string corrupt = new(chars);
                Assert.InRange(format.PlainTextLength(corrupt), 0, corrupt.Length);
                _ = format.Parse(corrupt);
            }
        }
    }
}
