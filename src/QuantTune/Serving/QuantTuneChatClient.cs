using QuantTune.Generation;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.AI;
using QuantTune.Diagnostics;
using QuantTune.Tokenization;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;
using TemplateMessage = QuantTune.Tokenization.ChatTemplates.ChatMessage;

namespace QuantTune.Serving;

/// <summary>
/// A model QuantTune loads (a checkpoint folder, a quantized folder or a GGUF, with an adapter or a QST side network)
/// as a <c>Microsoft.Extensions.AI</c> <see cref="IChatClient"/>: the conversation is rendered in the model's own chat
/// template, the reply stops at its end-of-turn tokens, and <see cref="ChatOptions"/> map to sampling (temperature,
/// top-p, top-k, max output tokens, stop sequences, seed). Streaming yields the text as it decodes and honours
/// cancellation between tokens. One model has one set of caches, so concurrent calls are queued, never interleaved.
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

    /// <param name="session">The loaded model.</param>
    /// <param name="chat">Its template and end-of-turn ids (<see cref="ChatSession.For"/>); its history is not used.</param>
    /// <param name="modelId">The name reported in responses and metadata.</param>
    /// <param name="ownsSession">Whether disposing the client disposes the model.</param>
    public QuantTuneChatClient(ModelSession session, ChatSession chat, string modelId, bool ownsSession = false)
    {
        _session = session;
        _chat = chat;
        _ownsSession = ownsSession;
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
        ChatResponseUpdate? last = null;
        await foreach (var update in GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            text.Append(update.Text);
            last = update;
        }
        var usage = last?.Contents.OfType<UsageContent>().FirstOrDefault()?.Details;
        return new ChatResponse(new AiChatMessage(ChatRole.Assistant, text.ToString()))
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
                Generate(prompt, sampling, stops, channel.Writer, stop.Token);
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

    /// <summary>Decodes the reply token by token, writing each piece of text; the last update carries the finish reason and the token counts.</summary>
    private void Generate(int[] prompt, SamplingOptions sampling, string[] stops, ChannelWriter<ChatResponseUpdate> output, CancellationToken cancel)
    {
        var decoder = new TokenStreamDecoder(_session.Pretrained.Tokenizer, prompt);
        var text = new System.Text.StringBuilder();
        int emitted = 0, generated = 0;
        bool cutAtStopSequence = false;
        ChatFinishReason reason = ChatFinishReason.Length;
        foreach (int id in _session.Generate(prompt, sampling))
        {
            cancel.ThrowIfCancellationRequested();
            generated++;
            if (_chat.EndOfTurn.Contains(id))
            {
                reason = ChatFinishReason.Stop;
                break;
            }
            text.Append(decoder.Add(id));
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
            if (safe > emitted)
            {
                output.TryWrite(Update(text.ToString(emitted, safe - emitted)));
                emitted = safe;
            }
        }
        if (!cutAtStopSequence) text.Append(decoder.Flush());
        var last = Update(text.Length > emitted ? text.ToString(emitted, text.Length - emitted) : "");
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

    private ChatResponseUpdate Update(string text) => new(ChatRole.Assistant, text) { ModelId = _metadata.DefaultModelId };

    /// <summary>The conversation rendered in the model's template, ending with the assistant's generation prompt.</summary>
    private int[] Prompt(IEnumerable<AiChatMessage> messages, ChatOptions? options)
    {
        if (options?.Tools is { Count: > 0 })
            throw new NotSupportedException("ChatOptions.Tools: tool calling is not built yet; QuantTune's chat client renders plain conversations");
        var turns = messages.Select(m => new TemplateMessage(Role(m.Role), m.Text)).ToList();
        if (turns.Count == 0) throw new ArgumentException("expected at least one message", nameof(messages));
        string text = _chat.Template.Template.Render(turns, _chat.Template.Inputs(addGenerationPrompt: true));
        int[] ids = [.. _session.Pretrained.Tokenizer.Encode(text)];
        int context = _session.Pretrained.Config.MaxPositionEmbeddings;
        if (ids.Length >= context)
            throw new QuantTuneException($"the conversation is {ids.Length} tokens, as long as the model's context ({context} tokens) or longer; no reply fits");
        return ids;
    }

    private static string Role(ChatRole role) =>
        role == ChatRole.System ? "system" : role == ChatRole.User ? "user" : role == ChatRole.Assistant ? "assistant" : role == ChatRole.Tool ? "tool" : role.Value;

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
