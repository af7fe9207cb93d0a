using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary>One component type of tokenizer.json (a normalizer, pre-tokenizer, model, decoder or post-processor), named by its <c>type</c> field.</summary>
internal interface ITokenizerComponent
{
    /// <summary>The value of the <c>type</c> field that selects this component, as Hugging Face tokenizers writes it.</summary>
    string Type { get; }
}

/// <summary>
/// The component types of one kind (normalizer, pre-tokenizer, ...), one registration line each. A <c>type</c>
/// no registered component claims is refused naming the file, the JSON path and the known types.
/// </summary>
internal sealed class ComponentRegistry<T>
    where T : ITokenizerComponent
{
    private readonly string _kind;
    private readonly Dictionary<string, T> _byType = new(StringComparer.Ordinal);

    public ComponentRegistry(string kind, params T[] components)
    {
        _kind = kind;
        foreach (T component in components)
        {
            _byType.Add(component.Type, component);
        }
    }

    /// <summary>The known types, in registration order, as an error message lists them.</summary>
    public string Known => string.Join(", ", _byType.Keys);

    /// <summary>The component that <paramref name="node"/>'s <c>type</c> names.</summary>
    /// <exception cref="TokenizerFormatException">The type is missing, not a string, or not registered.</exception>
    public T Find(JsonField node)
    {
        JsonField type = node.Required("type", $"a {_kind} type ({Known})");
        return _byType.TryGetValue(type.GetString(), out T? component) ? component : throw type.Fail($"a known {_kind} type: {Known}");
    }
}
