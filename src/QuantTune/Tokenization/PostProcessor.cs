using QuantTune.IO;
namespace QuantTune.Tokenization;

/// <summary>One post-processor type of tokenizer.json: adds the ids it places before and after a single sequence.</summary>
internal interface IPostProcessorType : ITokenizerComponent
{
    void Add(JsonField node, List<int> prefix, List<int> suffix);
}

/// <summary>
/// The <c>post_processor</c> of tokenizer.json for single sequences: the special-token ids placed before and
/// after the encoded text. Each type is a class registered in <see cref="Types"/>; null adds nothing.
/// </summary>
internal sealed class PostProcessor
{
    /// <summary>Every post-processor type, one line each.</summary>
    public static readonly ComponentRegistry<IPostProcessorType> Types = new(
        "post-processor",
        new TemplateProcessingPostProcessor(),
        new ByteLevelPostProcessor(),
        new SequencePostProcessor(),
        new BertPostProcessor("BertProcessing"),
        new BertPostProcessor("RobertaProcessing"));

    private PostProcessor(int[] prefix, int[] suffix)
    {
        Prefix = prefix;
        Suffix = suffix;
    }

    public int[] Prefix { get; }

    public int[] Suffix { get; }

    public static PostProcessor Parse(JsonField? node)
    {
        var prefix = new List<int>();
        var suffix = new List<int>();
        if (node is { } n)
        {
            Add(n, prefix, suffix);
        }

        return new PostProcessor(prefix.ToArray(), suffix.ToArray());
    }

    /// <summary>Adds the ids of one post-processor node (of any registered type).</summary>
    public static void Add(JsonField node, List<int> prefix, List<int> suffix) => Types.Find(node).Add(node, prefix, suffix);
}
