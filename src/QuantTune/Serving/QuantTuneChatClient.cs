using QuantTune.Generation;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.AI;
using QuantTune.Diagnostics;
using QuantTune.Serving.Tools;
using QuantTune.Tokenization;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace QuantTune.Serving;

/// <summary>
/// A model QuantTune loads (a checkpoint folder, a quantized folder or a GGUF, with an adapter or a QST side network)
/// as a <c>Microsoft.Extensions.AI</c> <see cref="IChatClient"/>: the conversation is rendered in the model's own chat
/// template, the reply stops at its end-of-turn tokens, and <see cref="ChatOptions"/> map to sampling (temperature,
/// top-p, top-k, max output tokens, stop sequences, seed). Streaming yields the text as it decodes and honours
/// cancellation between tokens. One model has one set of caches, so concurrent calls are queued, never interleaved.
/// <para>
/// Tools: <see cref="ChatOptions.Tools"/> reach the template as its <c>tools</c> variable, the conversation's function
/// calls and results as transformers passes them (<see cref="ChatTranscript"/>), and the reply's calls come back as
/// <see cref="FunctionCallContent"/> with <see cref="ChatFinishReason.ToolCalls"/> when the template asks for a format
/// QuantTune reads (<see cref="ToolCallFormats"/>: Hermes / Qwen <c>&lt;tool_call&gt;</c>, Llama 3.1/3.2 JSON, Mistral
/// <c>[TOOL_CALLS]</c>). While streaming, text that may be a call is held back; a call that is not well formed stays
/// text. So <c>new ChatClientBuilder(client).UseFunctionInvocation()</c> works on top.
/// </para>
/// </summary>
public sealed class QuantTuneChatClient : IChatClient
{
    /// <summary>Reply tokens when <see cref="ChatOptions.MaxOutputTokens"/> is not given.</summary>
    public const int DefaultMaxOutputTokens = 256;

    private readonly ModelSession _session;
    private readonly ChatSession _chat;
    private readonly bool _ownsSession;
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly ChatClientMetadata _metadata;
    private readonly Func<IReadOnlyList<int>, SamplingOptions, IEnumerable<int>> _tokens;
    private readonly IToolCallFormat? _toolFormat;

    /// <param name="session">The loaded model.</param>
    /// <param name="chat">Its template and end-of-turn ids (<see cref="ChatSession.For"/>); its history is not used.</param>
    /// <param name="modelId">The name reported in responses and metadata.</param>
    /// <param name="ownsSession">Whether disposing the client disposes the model.</param>
    /// <param name="tokens">
    /// Where the reply's token ids come from, given the prompt's ids and the sampling options; by default the model's
    /// own decoding (<see cref="ModelSession.Generate"/>). Another source (constrained or scripted decoding) goes
    /// through the same detokenizing, end-of-turn, stop-sequence and tool-call handling.
    /// </param>
    public QuantTuneChatClient(ModelSession session, ChatSession chat, string modelId, bool ownsSession = false,
        Func<IReadOnlyList<int>, SamplingOptions, IEnumerable<int>>? tokens = null)
    {
        _session = session;
        _chat = chat;
        _ownsSession = ownsSession;
        _tokens = tokens ?? session.Generate;
        _toolFormat = ToolCallFormats.For(chat.Template.Template.Source);
        _metadata = new ChatClientMetadata("QuantTune", providerUri: null, defaultModelId: modelId);
    }

    /// <summary>
    /// Loads <paramref name="model"/> (a folder, a .gguf, or a Hub id downloaded into the shared cache:
    /// <see cref="Hub.ModelSource.Resolve"/>), with an adapter or a QST side network, and its chat template.
    /// </summary>
    public static QuantTuneChatClient Open(string model, string? adapter = null, string? qst = null, string? chatTemplate = null)
    {
        string path = Hub.ModelSource.Resolve(model);
        string modelId = path == model ? Path.GetFileName(Path.TrimEndingDirectorySeparator(model)) : model;
        var session = ModelSession.Open(path, TorchSharp.torch.ScalarType.Float32, TorchSharp.torch.CPU, adapter, qst);
        try
        {
            return new QuantTuneChatClient(session, ChatSession.For(session.Pretrained, choice: chatTemplate), modelId, ownsSession: true);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<AiChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var text = new System.Text.StringBuilder();
        var calls = new List<FunctionCallContent>();
        ChatResponseUpdate? last = null;
        await foreach (var update in GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            text.Append(update.Text);
            calls.AddRange(update.Contents.OfType<FunctionCallContent>());
            last = update;
        }
        var usage = last?.Contents.OfType<UsageContent>().FirstOrDefault()?.Details;
        List<AIContent> contents = [new TextContent(text.ToString()), .. calls];
        return new ChatResponse(new AiChatMessage(ChatRole.Assistant, contents))
        {
            ModelId = _metadata.DefaultModelId,
            FinishReason = last?.FinishReason,
            Usage = usage,
            CreatedAt = DateTimeOffset.UtcNow,
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<AiChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var prompt = Prompt(messages, options);
        var toolFormat = options?.Tools is { Count: > 0 } ? _toolFormat : null;
        await foreach (var update in Queued(prompt, options, _chat.EndOfTurn, toolFormat, cancellationToken).ConfigureAwait(false))
            yield return update;
    }

    /// <summary>
    /// OpenAI's legacy text completion: <paramref name="prompt"/> encoded as <c>quanttune generate</c> encodes it (special
    /// tokens such as BOS from the tokenizer's post-processor, no chat template) and continued until the model's EOS,
    /// a stop sequence or <see cref="ChatOptions.MaxOutputTokens"/> (<see cref="DefaultMaxOutputTokens"/> when not given).
    /// Updates stream as in <see cref="GetStreamingResponseAsync"/> (the last carries the finish reason and the token
    /// counts) and share its queue, so completions and chats never interleave on the model's caches. Tools are not used.
    /// </summary>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingCompletionAsync(string prompt, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        int[] ids = [.. _session.Pretrained.Tokenizer.Encode(prompt, addSpecialTokens: true)];
        if (ids.Length == 0) throw new QuantTuneException("the prompt is empty (no tokens, no BOS from the tokenizer); a completion needs at least one token");
        CheckContext(ids, "prompt");
        await foreach (var update in Queued(ids, options, _session.Pretrained.Config.EosTokenIds, toolFormat: null, cancellationToken).ConfigureAwait(false))
            yield return update;
    }

    /// <summary>Runs one generation when the model is free (one at a time), handing its updates out as they decode.</summary>
    private async IAsyncEnumerable<ChatResponseUpdate> Queued(int[] prompt, ChatOptions? options, IReadOnlyCollection<int> ends, IToolCallFormat? toolFormat,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var sampling = Sampling(options);
        string[] stops = [.. options?.StopSequences ?? []];
        var channel = Channel.CreateUnbounded<ChatResponseUpdate>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        // Stops the worker when the caller cancels, and when it stops reading early.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // Generation runs on one worker thread (TorchSharp's dispose scopes are per thread); the caller reads as it goes.
        var worker = Task.Run(() =>
        {
            try
            {
                Generate(prompt, sampling, ends, stops, toolFormat, channel.Writer, stop.Token);
                channel.Writer.Complete();
            }
            catch (Exception e)
            {
                channel.Writer.Complete(e);
            }
        }, CancellationToken.None);
        try
        {
            // Updates the worker wrote ahead are not handed out once the caller has cancelled: the next read throws.
            await foreach (var update in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return update;
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        finally
        {
            stop.Cancel();
            await worker.ConfigureAwait(false);
            _turn.Release();
        }
    }

    /// <summary>
    /// Decodes the reply token by token, writing each piece of text (text that may be a tool call held back); the last
    /// update carries the rest, the calls, the finish reason and the token counts.
    /// </summary>
    private void Generate(int[] prompt, SamplingOptions sampling, IReadOnlyCollection<int> ends, string[] stops, IToolCallFormat? toolFormat, ChannelWriter<ChatResponseUpdate> output, CancellationToken cancel)
    {
        var tokenizer = _session.Pretrained.Tokenizer;
        var decoder = new TokenStreamDecoder(tokenizer, prompt);
        var text = new System.Text.StringBuilder();
        int emitted = 0, generated = 0;
        bool cutAtStopSequence = false;
        ChatFinishReason reason = ChatFinishReason.Length;
        foreach (int id in _tokens(prompt, sampling))
        {
            cancel.ThrowIfCancellationRequested();
            generated++;
            if (ends.Contains(id))
            {
                reason = ChatFinishReason.Stop;
                break;
            }
            // A call format's special tokens ([TOOL_CALLS], <|python_tag|>) stay in the text that is parsed.
            text.Append(toolFormat is not null && tokenizer.IsAddedToken(id) && tokenizer.IdToToken(id) is { } token && toolFormat.Markers.Contains(token)
                ? token : decoder.Add(id));
            // A stop sequence ends the reply where it begins; text that could still become one is held back.
            string sofar = stops.Length > 0 ? text.ToString() : "";
            int cut = stops.Select(s => sofar.IndexOf(s, StringComparison.Ordinal)).Where(at => at >= 0).DefaultIfEmpty(-1).Min();
            if (cut >= 0)
            {
                text.Length = cut;
                reason = ChatFinishReason.Stop;
                cutAtStopSequence = true;
                break;
            }
            int safe = text.Length - stops.Select(s => HeldBack(sofar, s)).DefaultIfEmpty(0).Max();
            if (toolFormat is not null)
            {
                // White space just before a call belongs to no text: it is held back with what follows.
                safe = Math.Min(safe, toolFormat.PlainTextLength(text.ToString()));
                while (safe > emitted && char.IsWhiteSpace(text[safe - 1])) safe--;
            }
            if (safe > emitted)
            {
                output.TryWrite(Update(text.ToString(emitted, safe - emitted)));
                emitted = safe;
            }
        }
        if (!cutAtStopSequence) text.Append(decoder.Flush());
        string rest = text.Length > emitted ? text.ToString(emitted, text.Length - emitted) : "";
        // What was written is plain text for sure; the rest is the reply's calls when they are well formed.
        var reply = toolFormat?.Parse(rest);
        var last = Update(reply?.Text ?? rest);
        if (reply is not null)
        {
            foreach (var call in reply.Calls)
                last.Contents.Add(new FunctionCallContent(call.Id ?? NewCallId(), call.Name, ToolArguments(call.Arguments)));
            reason = ChatFinishReason.ToolCalls;
        }
        last.FinishReason = reason;
        last.Contents.Add(new UsageContent(new UsageDetails { InputTokenCount = prompt.Length, OutputTokenCount = generated, TotalTokenCount = prompt.Length + generated }));
        output.TryWrite(last);
    }

    /// <summary>How many characters at the end of <paramref name="text"/> begin <paramref name="stop"/> (and may complete it with the next token).</summary>
    private static int HeldBack(string text, string stop)
    {
        for (int n = Math.Min(stop.Length - 1, text.Length); n > 0; n--)
            if (text.EndsWith(stop[..n], StringComparison.Ordinal)) return n;
        return 0;
    }

    /// <summary>A fresh call id: nine letters and digits, the shape Mistral's templates require.</summary>
    private static string NewCallId() => Guid.NewGuid().ToString("N")[..9];

    private static Dictionary<string, object?> ToolArguments(System.Text.Json.Nodes.JsonObject arguments) =>
        arguments.ToDictionary(a => a.Key, a => (object?)(a.Value is null ? null : System.Text.Json.JsonSerializer.SerializeToElement(a.Value, AIJsonUtilities.DefaultOptions)));

    private ChatResponseUpdate Update(string text) => new(ChatRole.Assistant, text) { ModelId = _metadata.DefaultModelId };

    /// <summary>The conversation rendered in the model's template, ending with the assistant's generation prompt.</summary>
    private int[] Prompt(IEnumerable<AiChatMessage> messages, ChatOptions? options)
    {
        var turns = ChatTranscript.Messages(messages);
        if (turns.Count == 0) throw new ArgumentException("expected at least one message", nameof(messages));
        string text = _chat.Template.Template.Render(turns, _chat.Template.Inputs(addGenerationPrompt: true) with { Tools = ChatTranscript.Tools(options?.Tools) });
        int[] ids = [.. _session.Pretrained.Tokenizer.Encode(text)];
        CheckContext(ids, "conversation");
        return ids;
    }

    private void CheckContext(int[] ids, string what)
    {
        int context = _session.Pretrained.Config.MaxPositionEmbeddings;
        if (ids.Length >= context)
            throw new QuantTuneException($"the {what} is {ids.Length} tokens, as long as the model's context ({context} tokens) or longer; no reply fits");
    }

    private SamplingOptions Sampling(ChatOptions? options)
    {
        var sampling = new SamplingOptions
        {
            MaxNewTokens = options?.MaxOutputTokens ?? DefaultMaxOutputTokens,
            Temperature = options?.Temperature ?? 0,
            TopP = options?.TopP ?? 1.0,
            TopK = options?.TopK ?? 0,
            Seed = options?.Seed ?? 0,
        };
        sampling.Validate();
        return sampling;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? _metadata
        : serviceType.IsInstanceOfType(this) ? this
        : serviceType.IsInstanceOfType(_session) ? _session
        : null;

    public void Dispose()
    {
        _turn.Dispose();
        if (_ownsSession) _session.Dispose();
    }
}
