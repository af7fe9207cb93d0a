using QuantTune.Serving;
using System.CommandLine;
using QuantTune.Diagnostics;
using QuantTune.Formats.Gguf;
using QuantTune.Generation;
using QuantTune.Tokenization;
using QuantTune.Tokenization.ChatTemplates;

namespace QuantTune.Cli.Commands;

/// <summary>
/// <c>quanttune chat</c>: an interactive conversation on standard input, each reply streamed as it
/// is generated and stopped at the template's end-of-turn tokens; <c>/reset</c> forgets the
/// history, <c>/exit</c> (or the end of input) ends. Also the chat half of <c>generate --chat</c>.
/// </summary>
public static class ChatCommand
{
    public static Option<string?> TemplateOption() => new("--chat-template") { Description = DataHelp.ChatTemplate };

    public static Command Create()
    {
        var modelOptions = new ModelOptions();
        var template = TemplateOption();
        var system = new Option<string?>("--system", "-s") { Description = "system prompt at the start of the conversation" };
        var maxNew = new Option<int>("--max-new-tokens", "-n") { Description = "most tokens per reply", DefaultValueFactory = _ => 128 };
        var temperature = new Option<double>("--temperature", "-t") { Description = "0 for greedy decoding", DefaultValueFactory = _ => 0.0 };
        var topK = new Option<int>("--top-k") { Description = "sample among the k most likely tokens (0: off)", DefaultValueFactory = _ => 0 };
        var topP = new Option<double>("--top-p") { Description = "nucleus sampling threshold (1: off)", DefaultValueFactory = _ => 1.0 };
        var seed = new Option<long>("--seed") { Description = "random seed for sampling", DefaultValueFactory = _ => 0 };
        var cmd = modelOptions.AddTo(new Command("chat", "Talk with a model in its chat template: type a message, /reset to start over, /exit to quit.")
            { template, system, maxNew, temperature, topK, topP, seed });
        cmd.SetAction(r =>
        {
            using var session = modelOptions.Open(r);
            var chat = Open(session, r.GetValue(modelOptions.Model)!, r.GetValue(template), r.GetValue(system));
            var options = new SamplingOptions { MaxNewTokens = r.GetValue(maxNew), Temperature = r.GetValue(temperature), TopK = r.GetValue(topK), TopP = r.GetValue(topP), Seed = r.GetValue(seed) };
            Console.Error.WriteLine($"chat template: {chat.Template.Origin}; replies stop at token{(chat.EndOfTurn.Count == 1 ? "" : "s")} {string.Join(", ", chat.EndOfTurn)}. /reset starts over, /exit quits.");
            while (true)
            {
                Console.Write("> ");
                string? line = Console.In.ReadLine();
                if (line is null || line.Trim() == "/exit") break;
                if (line.Trim() == "/reset")
                {
                    chat.Reset();
                    Console.WriteLine("(history cleared)");
                    continue;
                }
                if (line.Trim().Length == 0) continue;
                Reply(session, chat, line, options);
            }
            Console.WriteLine();
            return 0;
        });
        return cmd;
    }

    /// <summary>The conversation for the opened model: its template (or <paramref name="choice"/>) and its end-of-turn ids.</summary>
    public static ChatSession Open(ModelSession session, string modelPath, string? choice, string? system)
    {
        string path = Assets.ModelPath(modelPath);
        return ChatSession.For(session.Pretrained, File.Exists(path) || Directory.Exists(path) ? path : null, choice, system);
    }

    /// <summary>Generates one reply to <paramref name="user"/>, printing it as it grows; returns the reply's text.</summary>
    public static string Reply(ModelSession session, ChatSession chat, string user, SamplingOptions options, bool stream = true)
    {
        int[] prompt = chat.Ask(user);
        int context = session.Pretrained.Config.MaxPositionEmbeddings;
        if (prompt.Length + options.MaxNewTokens > context)
        {
            chat.Retract();
            throw new QuantTuneException($"the conversation is {prompt.Length} tokens and a reply may add {options.MaxNewTokens}, past the model's context ({context}); /reset to start over or lower --max-new-tokens");
        }
        var decoder = new TokenStreamDecoder(session.Pretrained.Tokenizer, prompt);
        var reply = new System.Text.StringBuilder();
        foreach (int id in session.Generate(prompt, options))
        {
            CliHost.Cancellation.ThrowIfCancellationRequested();
            if (chat.EndOfTurn.Contains(id)) break;
            string piece = decoder.Add(id);
            reply.Append(piece);
            if (stream) Console.Write(piece);
        }
        string rest = decoder.Flush();
        reply.Append(rest);
        if (stream) Console.WriteLine(rest);
        chat.Answer(reply.ToString());
        return reply.ToString();
    }
}
