namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>
/// Templates for models that carry none (the embedded tiny model): <c>zephyr</c>, the default,
/// which ends every turn with the EOS token so generation stops where a turn ends, and <c>chatml</c>.
/// Both are the templates those model families publish.
/// </summary>
public static class BuiltInChatTemplates
{
    public const string Default = "zephyr";

    /// <summary>HuggingFaceH4/zephyr-7b-beta's template.</summary>
    public const string Zephyr =
        "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n"
        + "{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n"
        + "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n"
        + "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";

    /// <summary>ChatML, as Qwen2 and SmolLM2 use it (without their default system prompt).</summary>
    public const string ChatMl =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
        + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    public static IReadOnlyDictionary<string, string> All { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["zephyr"] = Zephyr,
        ["chatml"] = ChatMl,
    };
}
