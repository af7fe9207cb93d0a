using QuantTune.Serving;
using QuantTune.Tokenization;
using System.CommandLine;
using System.Diagnostics;
using QuantTune.Cli.Rendering;
using QuantTune.Generation;
using QuantTune.Models.Loading;

namespace QuantTune.Cli.Commands;

public static class GenerateCommand
{
    public static Command Create()
    {
        var modelOptions = new ModelOptions();
        var prompt = new Option<string>("--prompt", "-p") { Description = "the text to continue", Required = true };
        var maxNew = new Option<int>("--max-new-tokens", "-n") { Description = "tokens to generate", DefaultValueFactory = _ => 64 };
        var temperature = new Option<double>("--temperature", "-t") { Description = "0 for greedy decoding", DefaultValueFactory = _ => 0.0 };
        var topK = new Option<int>("--top-k") { Description = "sample among the k most likely tokens (0: off)", DefaultValueFactory = _ => 0 };
        var topP = new Option<double>("--top-p") { Description = "nucleus sampling threshold (1: off)", DefaultValueFactory = _ => 1.0 };
        var seed = new Option<long>("--seed") { Description = "random seed for sampling", DefaultValueFactory = _ => 0 };
        var noBos = new Option<bool>("--no-bos") { Description = "do not add the tokenizer's BOS/special tokens to the prompt" };
        var chat = new Option<bool>("--chat") { Description = "treat --prompt as a user message: render it with the chat template and stop at the end of the reply" };
        var chatTemplate = ChatCommand.TemplateOption();
        var system = new Option<string?>("--system", "-s") { Description = "with --chat: a system prompt" };
        var json = Options.Json();
        var cmd = modelOptions.AddTo(new Command("generate", "Continue a prompt with greedy or sampled decoding (KV cache).")
            { prompt, maxNew, temperature, topK, topP, seed, noBos, chat, chatTemplate, system, json });
        cmd.SetAction(r =>
        {
            using var session = modelOptions.Open(r);
            var pm = session.Pretrained;
            if (r.GetValue(maxNew) > pm.Config.MaxPositionEmbeddings)
                throw new Diagnostics.QuantTuneException($"--max-new-tokens {r.GetValue(maxNew)}: longer than the model's context ({pm.Config.MaxPositionEmbeddings} tokens, max_position_embeddings in its config.json)");
            var options = new SamplingOptions
            {
                MaxNewTokens = r.GetValue(maxNew),
                Temperature = r.GetValue(temperature),
                TopK = r.GetValue(topK),
                TopP = r.GetValue(topP),
                Seed = r.GetValue(seed),
            };
            if (r.GetValue(chat))
            {
                var conversation = ChatCommand.Open(session, r.GetValue(modelOptions.Model)!, r.GetValue(chatTemplate), r.GetValue(system));
                Console.Error.WriteLine($"chat template: {conversation.Template.Origin}");
                var reply = ChatCommand.Reply(session, conversation, r.GetValue(prompt)!, options, stream: !r.GetValue(json));
                if (r.GetValue(json)) JsonOutput.Write(new { prompt = r.GetValue(prompt), reply, chat_template = conversation.Template.Origin });
                return 0;
            }
            if (r.GetResult(chatTemplate) is not null || r.GetResult(system) is not null)
                throw new Diagnostics.QuantTuneException("--chat-template and --system apply with --chat");
            var result = Run(pm, r.GetValue(prompt)!, !r.GetValue(noBos), options, stream: !r.GetValue(json), session.Generate);
            if (r.GetValue(json)) JsonOutput.Write(result);
            return 0;
        });
        return cmd;
    }

    public sealed record GenerationResult(string Prompt, int[] PromptIds, int[] OutputIds, string Completion, double TokensPerSecond);

    /// <summary>Generates and, when <paramref name="stream"/> is set, prints the completion as it grows.</summary>
    /// <param name="generate">prompt ids and options → new ids (a <see cref="ModelSession"/>'s); by default the plain model with its KV cache</param>
    public static GenerationResult Run(PretrainedModel pm, string prompt, bool addSpecialTokens, SamplingOptions options, bool stream,
        Func<IReadOnlyList<int>, SamplingOptions, IEnumerable<int>>? generate = null)
    {
        var promptIds = pm.Tokenizer.Encode(prompt, addSpecialTokens).ToArray();
        var output = new List<int>();
        // The completion is decoded in the context of the prompt: a SentencePiece-style first word keeps its space.
        var decoder = new TokenStreamDecoder(pm.Tokenizer, promptIds);
        var completionText = new System.Text.StringBuilder();
        if (stream) Console.Write(prompt);
        var sw = Stopwatch.StartNew();
        var tokens = generate is null ? TextGenerator.Generate(pm.Model, promptIds, options) : generate(promptIds, options);
        foreach (var id in tokens)
        {
            CliHost.Cancellation.ThrowIfCancellationRequested();
            output.Add(id);
            var piece = decoder.Add(id);
            completionText.Append(piece);
            if (stream) Console.Write(piece);
        }
        var seconds = sw.Elapsed.TotalSeconds;
        var rest = decoder.Flush();
        completionText.Append(rest);
        var completion = completionText.ToString();
        if (stream)
        {
            Console.Write(rest);
            Console.WriteLine();
            Console.Error.WriteLine($"[{output.Count} tokens, {output.Count / Math.Max(seconds, 1e-9):F1} tokens/s]");
        }
        return new GenerationResult(prompt, promptIds, promptIds.Concat(output).ToArray(), completion, output.Count / Math.Max(seconds, 1e-9));
    }
}
