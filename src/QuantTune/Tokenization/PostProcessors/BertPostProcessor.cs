using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary><c>BertProcessing</c> and <c>RobertaProcessing</c>: <c>cls</c> before the sequence and <c>sep</c> after it, each a [token, id] pair.</summary>
internal sealed class BertPostProcessor(string type) : IPostProcessorType
{
    public string Type => type;

    public void Add(JsonField node, List<int> prefix, List<int> suffix)
    {
        prefix.Add(Id(node, "cls"));
        suffix.Add(Id(node, "sep"));
    }

    private static int Id(JsonField node, string name)
    {
        JsonField pair = node.Required(name, "a [token, id] pair");
        JsonField[] items = pair.Items().ToArray();
        if (items.Length != 2)
        {
            throw pair.Fail("a [token, id] pair");
        }

        items[0].GetString();
        return items[1].GetInt32();
    }
}
