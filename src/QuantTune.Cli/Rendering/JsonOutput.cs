using System.Text.Json;

namespace QuantTune.Cli.Rendering;

public static class JsonOutput
{
    static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static void Write(object value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, Options));
}
