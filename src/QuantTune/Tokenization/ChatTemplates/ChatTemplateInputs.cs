using System.Text.Json.Nodes;

namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>
/// What transformers' <c>apply_chat_template</c> passes to a template besides the messages:
/// <c>add_generation_prompt</c>, <c>bos_token</c>, <c>eos_token</c>, <c>tools</c> (absent when
/// null), any extra variables (<c>enable_thinking</c>, <c>date_string</c>, ...), and the clock
/// behind <c>strftime_now</c>.
/// </summary>
public sealed record ChatTemplateInputs
{
    public bool AddGenerationPrompt { get; init; }
    public string? BosToken { get; init; }
    public string? EosToken { get; init; }
    public JsonArray? Tools { get; init; }
    public IReadOnlyDictionary<string, JsonNode?> Variables { get; init; } = new Dictionary<string, JsonNode?>();
    public Func<DateTime> Clock { get; init; } = () => DateTime.Now;
}
