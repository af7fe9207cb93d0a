using System.Text.Json;
using QuantTune.Formats.Safetensors;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models;

/// <summary>The outputs transformers computed for a fixture folder (reference.safetensors + reference.json).</summary>
public sealed class ReferenceOutputs : IDisposable
{
    readonly SafetensorsFile _file;
    public JsonElement Json { get; }

    public ReferenceOutputs(string folder)
    {
        _file = SafetensorsFile.Open(Path.Combine(folder, "reference.safetensors"));
        Json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "reference.json"))).RootElement.Clone();
    }

    public Tensor Get(string name) => _file.ToTensor(name);
    public bool Has(string name) => _file.Tensors.ContainsKey(name);

    /// <summary>
    /// The perplexity the test compares with: <c>perplexity_prefix</c> where the folder has one (the first
    /// tokens of the text, scored by the NumPy port after it reproduced transformers' whole-file value;
    /// tools/family-fixtures/prefix_perplexity.py), else <c>perplexity</c>.
    /// </summary>
    JsonElement PerplexityBlock => Json.TryGetProperty("perplexity_prefix", out var prefix) ? prefix : Json.GetProperty("perplexity");
    public double Perplexity => PerplexityBlock.GetProperty("value").GetDouble();
    /// <summary>How many leading tokens of the text the reference perplexity covers (tokens), or null for all of it.</summary>
    public int? PerplexityTokens => PerplexityBlock.TryGetProperty("tokens", out var t) ? t.GetInt32() : null;
    public long PredictedTokens => PerplexityBlock.GetProperty("predicted_tokens").GetInt64();
    public int[] PromptIds => Json.GetProperty("greedy_generation").GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
    public int[] GreedyOutputIds => Json.GetProperty("greedy_generation").GetProperty("output_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
    public int MaxNewTokens => Json.GetProperty("greedy_generation").GetProperty("max_new_tokens").GetInt32();

    public void Dispose() => _file.Dispose();
}
