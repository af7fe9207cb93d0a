using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace QuantTune.Serving.Tools;

/// <summary>Reading the JSON a model wrote for its calls: nothing here throws; what does not parse is null.</summary>
internal static class ToolCallJson
{
    /// <summary>The JSON values in <paramref name="text"/>, one after another, separated by white space or <paramref name="separator"/>; null unless all of it is JSON.</summary>
    public static List<JsonNode>? Values(string text, char? separator = null)
    {
        var values = new List<JsonNode>();
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        int at = 0;
        while (true)
        {
            while (at < bytes.Length && (char.IsWhiteSpace((char)bytes[at]) || (separator is char s && bytes[at] == s))) at++;
            if (at >= bytes.Length) return values.Count > 0 ? values : null;
            try
            {
                var reader = new Utf8JsonReader(bytes.AsSpan(at), new JsonReaderOptions { AllowMultipleValues = true });
                using var doc = JsonDocument.ParseValue(ref reader);
                // JsonObject refuses a repeated key only when first read; such JSON is not a call.
                if (RepeatsAKey(doc.RootElement) || JsonNode.Parse(doc.RootElement.GetRawText()) is not { } node) return null;
                values.Add(node);
                at += (int)reader.BytesConsumed;
            }
            catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
            {
                return null;
            }
        }
    }

    /// <summary>A call object: <c>name</c> a string and the arguments (under one of <paramref name="argumentKeys"/>) an object or a string holding one.</summary>
    public static ToolCall? Call(JsonNode? node, params string[] argumentKeys)
    {
        try
        {
            return ReadCall(node, argumentKeys);
        }
        catch (ArgumentException)
        {
            // An object that repeats a key (JsonObject refuses it on first access).
            return null;
        }
    }

    static ToolCall? ReadCall(JsonNode? node, string[] argumentKeys)
    {
        if (node is not JsonObject o || o["name"] is not JsonValue n || !n.TryGetValue(out string? name) || name.Length == 0) return null;
        JsonNode? args = argumentKeys.Select(k => o[k]).FirstOrDefault(a => a is not null);
        JsonObject? arguments = args switch
        {
            null => new JsonObject(),
            JsonObject obj => (JsonObject)obj.DeepClone(),
            JsonValue v when v.TryGetValue(out string? s) => Object(s),
            _ => null,
        };
        if (arguments is null) return null;
        string? id = o["id"] is JsonValue i && i.TryGetValue(out string? text) ? text : null;
        return new ToolCall(name, arguments, id);
    }

    public static JsonObject? Object(string text) => Values(text) is [JsonObject o] ? o : null;

    static bool RepeatsAKey(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var keys = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                    if (!keys.Add(property.Name) || RepeatsAKey(property.Value)) return true;
                return false;
            case JsonValueKind.Array:
                return element.EnumerateArray().Any(RepeatsAKey);
            default:
                return false;
        }
    }

    /// <summary>How many characters at the end of <paramref name="text"/> begin <paramref name="marker"/> (and may complete it).</summary>
    public static int PartialMarker(string text, string marker)
    {
        for (int n = Math.Min(marker.Length - 1, text.Length); n > 0; n--)
            if (text.EndsWith(marker[..n], StringComparison.Ordinal)) return n;
        return 0;
    }
}
