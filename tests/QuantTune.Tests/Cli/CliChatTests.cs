using System.Text.Json;

namespace QuantTune.Tests.Cli;

/// <summary><c>quanttune chat</c> driven through standard input, and <c>generate --chat</c>.</summary>
public class CliChatTests
{
    [Fact]
    public void Chat_reads_turns_from_stdin_resets_and_exits()
    {
        var r = CliRunner.RunWithInput("What is the capital of France?\n/reset\nAnd Italy?\n/exit\nnever read\n", "chat", "--model", "tiny-llama", "-n", "6");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("chat template: built-in zephyr (the model has no chat template); replies stop at token 2", r.Stderr);
        Assert.Equal(4, r.Stdout.Split("> ").Length - 1); // a prompt before each line read: two messages, /reset, /exit; the line after /exit is never read
        Assert.Contains("(history cleared)", r.Stdout);
    }

    [Fact]
    public void Generate_chat_renders_the_prompt_as_a_user_turn()
    {
        var r = CliRunner.Run("generate", "--model", "tiny-llama", "--chat", "--chat-template", "chatml", "--system", "Be brief.", "-p", "Hello", "-n", "4", "--json");
        Assert.Equal(0, r.ExitCode);
        using var json = JsonDocument.Parse(r.Stdout);
        Assert.Equal("built-in chatml", json.RootElement.GetProperty("chat_template").GetString());
        Assert.True(json.RootElement.GetProperty("reply").GetString()!.Length > 0);
    }

    [Fact]
    public void An_unknown_chat_template_is_a_clean_error()
    {
        var r = CliRunner.Run("generate", "--model", "tiny-llama", "--chat", "--chat-template", "no-such-template", "-p", "Hi");
        CliRunner.AssertCleanFailure(r, "--chat-template no-such-template", "zephyr, chatml");
    }
}
