using System.Text.Json;
using System.Text.Json.Nodes;
using QuantTune.Tokenization;
using QuantTune.Tokenization.ChatTemplates;

namespace QuantTune.Training.Data;

/// <summary>
/// A prompt-only file, JSON Lines or a JSON array, as TRL's GRPOTrainer takes it: <c>{"prompt": "text"}</c> (tokenized
/// with the tokenizer's special tokens, BOS) or <c>{"prompt": [{"role", "content"}, …]}</c> (rendered with the chat
/// template and its generation prompt, tokenized without special tokens since the template writes them); every other
/// field of a record is kept for the rewards (GSM8K's "answer"). Prompts keep their last <c>maxPromptLength</c>
/// tokens, as TRL cuts them. A bad record is reported with its line and field.
/// </summary>
public sealed class PromptDataset
{
    const string Expected = "{\"prompt\": string or list of messages} objects";

    PromptDataset(IReadOnlyList<PromptRecord> prompts, bool conversational, IReadOnlyList<DataProblem> problems)
    {
        Prompts = prompts;
        Conversational = conversational;
        Problems = problems;
    }

    public IReadOnlyList<PromptRecord> Prompts { get; }

    /// <summary>Whether the prompts were messages rendered with the chat template.</summary>
    public bool Conversational { get; }

    /// <summary>Records skipped (with <c>skipBadLines</c>), each with its line and what was wrong.</summary>
    public IReadOnlyList<DataProblem> Problems { get; }

    /// <param name="template">The chat template message prompts are rendered with (null: such records are refused).</param>
    public static PromptDataset Load(string path, HfTokenizer tokenizer, ModelChatTemplate? template, int maxPromptLength, bool skipBadLines = false)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (maxPromptLength < 1) throw new ArgumentOutOfRangeException(nameof(maxPromptLength), maxPromptLength, "expected 1 or more");
        var log = new ProblemLog(path, skipBadLines);
        var prompts = new List<PromptRecord>();
        bool conversational = false;
        foreach (var json in JsonRecordReader.Read(path, log, Expected))
        {
            if (Parse(json, log, tokenizer, template, maxPromptLength) is not { } record) continue;
            if (prompts.Count == 0) conversational = json.Element.GetProperty("prompt").ValueKind == JsonValueKind.Array;
            prompts.Add(record);
        }
        return new PromptDataset(prompts, conversational, log.Problems);
    }

    static PromptRecord? Parse(JsonRecord json, ProblemLog log, HfTokenizer tokenizer, ModelChatTemplate? template, int maxPromptLength)
    {
        var e = json.Element;
        void Report(string problem) => log.Report(json.Line, $"{json.Where}{problem}");
        if (e.ValueKind != JsonValueKind.Object)
        {
            Report($"is a JSON {JsonRecordReader.Kind(e)}; expected an object with a \"prompt\"");
            return null;
        }
        if (!e.TryGetProperty("prompt", out var prompt))
        {
            Report("missing field 'prompt'; expected a string or a list of messages");
            return null;
        }
        var fields = e.EnumerateObject().Where(p => p.Name != "prompt").ToDictionary(p => p.Name, p => p.Value.Clone());
        string text;
        int[] ids;
        if (prompt.ValueKind == JsonValueKind.String)
        {
            text = prompt.GetString()!;
            if (text.Length == 0)
            {
                Report("field 'prompt' is an empty string; expected the text the completions follow");
                return null;
            }
            ids = [.. tokenizer.Encode(text, addSpecialTokens: true)];
        }
        else if (prompt.ValueKind == JsonValueKind.Array)
        {
            if (Messages(prompt, Report) is not { } messages) return null;
            if (template is null)
            {
                Report("field 'prompt': messages need a chat template, and none was given");
                return null;
            }
            try { text = template.Template.Render(messages, template.Inputs(addGenerationPrompt: true)); }
            catch (ChatTemplateException ex)
            {
                Report($"field 'prompt': {ex.Message}");
                return null;
            }
            ids = [.. tokenizer.Encode(text)];
        }
        else
        {
            Report($"field 'prompt' is a JSON {JsonRecordReader.Kind(prompt)}; expected a string or a list of messages");
            return null;
        }
        if (ids.Length == 0)
        {
            Report("field 'prompt' has no tokens; expected a prompt the completions can follow");
            return null;
        }
        if (ids.Length > maxPromptLength) ids = ids[^maxPromptLength..];
        return new PromptRecord(ids, text, fields, json.Line);
    }

    /// <summary>A non-empty list of messages with string roles and contents, as JSON; null after reporting anything else.</summary>
    static JsonArray? Messages(JsonElement value, Action<string> report)
    {
        if (value.GetArrayLength() == 0)
        {
            report("field 'prompt' is an empty list; expected a string or a list of messages");
            return null;
        }
        int i = 0;
        foreach (var turn in value.EnumerateArray())
        {
            string at = $"prompt[{i++}]";
            if (turn.ValueKind != JsonValueKind.Object)
            {
                report($"field '{at}' is a JSON {JsonRecordReader.Kind(turn)}; expected an object with \"role\" and \"content\"");
                return null;
            }
            foreach (var key in new[] { "role", "content" })
            {
                if (!turn.TryGetProperty(key, out var v) || v.ValueKind != JsonValueKind.String)
                {
                    report($"field '{at}.{key}' is {(v.ValueKind == JsonValueKind.Undefined ? "missing" : $"a JSON {JsonRecordReader.Kind(v)}")}; expected a string");
                    return null;
                }
            }
        }
        return (JsonArray)JsonNode.Parse(value.GetRawText())!;
    }
}
