namespace QuantTune.Formats.Ollama;

/// <summary>
/// The chat-template families whose Ollama template ships here, named as ollama names its
/// templates, and their detection from the turn markers in a Hugging Face Jinja chat template.
/// </summary>
public enum ChatTemplateFamily { Llama3, ChatML, Phi4, Gemma, Gemma3, Phi3, Mistral }

public static class ChatTemplateFamilies
{
    /// <summary>ollama's template name for the family (template/&lt;name&gt;.gotmpl).</summary>
    public static string OllamaName(this ChatTemplateFamily family) => family switch
    {
        ChatTemplateFamily.Llama3 => "llama3-instruct",
        ChatTemplateFamily.ChatML => "chatml",
        ChatTemplateFamily.Phi4 => "phi-4",
        ChatTemplateFamily.Gemma => "gemma-instruct",
        ChatTemplateFamily.Gemma3 => "gemma3-instruct",
        ChatTemplateFamily.Phi3 => "phi-3",
        ChatTemplateFamily.Mistral => "mistral-instruct",
        _ => throw new ArgumentOutOfRangeException(nameof(family)),
    };

    /// <summary>
    /// The family a Jinja chat template belongs to, from its markers: Llama 3's header and eot
    /// tokens, Phi-4's <c>&lt;|im_sep|&gt;</c>, ChatML's <c>&lt;|im_start|&gt;</c> (Qwen, SmolLM, ...), Gemma's
    /// <c>&lt;start_of_turn&gt;</c> (Gemma 3 by its first-user prefix or image token), Phi-3's
    /// <c>&lt;|assistant|&gt;</c>…<c>&lt;|end|&gt;</c>, Mistral's <c>[INST]</c> (but not Llama 2's <c>&lt;&lt;SYS&gt;&gt;</c>); null for any other.
    /// </summary>
    public static ChatTemplateFamily? Detect(string chatTemplate)
    {
        bool Has(string marker) => chatTemplate.Contains(marker, StringComparison.Ordinal);
        if (Has("<|start_header_id|>") && Has("<|eot_id|>")) return ChatTemplateFamily.Llama3;
        if (Has("<|im_sep|>")) return ChatTemplateFamily.Phi4;
        if (Has("<|im_start|>")) return ChatTemplateFamily.ChatML;
        if (Has("<start_of_turn>")) return Has("first_user_prefix") || Has("<start_of_image>") ? ChatTemplateFamily.Gemma3 : ChatTemplateFamily.Gemma;
        if (Has("<|assistant|>") && Has("<|end|>")) return ChatTemplateFamily.Phi3;
        if (Has("[INST]") && !Has("<<SYS>>")) return ChatTemplateFamily.Mistral;
        return null;
    }
}
