using System.Text.Json;
using QuantTune.Bench;

// Usage: dotnet run --project bench/QuantTune.Bench -c Release -- [foundation] [--synthetic-gib 1] [--tokens 65536] [--out bench/results]
var argList = args.ToList();
string Arg(string name, string fallback) { int i = argList.IndexOf(name); return i >= 0 && i + 1 < argList.Count ? argList[i + 1] : fallback; }
var outDir = Arg("--out", Path.Combine("bench", "results"));
var assets = Path.Combine(AppContext.BaseDirectory, "assets");
var model = Path.Combine(assets, "models", "tiny-llama");
var text = Path.Combine(assets, "data", "wikitext-2", "wiki.test.raw");
var scratch = Arg("--scratch", Path.GetTempPath());

Console.Error.WriteLine("load benchmark...");
var load = LoadBenchmark.Run(model, scratch, double.Parse(Arg("--synthetic-gib", "1"), System.Globalization.CultureInfo.InvariantCulture));
Console.Error.WriteLine("perplexity benchmark...");
var ppl = PerplexityBenchmark.Run(model, text, int.Parse(Arg("--tokens", "65536")));
var result = new
{
    benchmark = "foundation",
    command = "dotnet run --project bench/QuantTune.Bench -c Release -- " + string.Join(' ', args),
    machine = Machine.Describe(),
    load,
    perplexity_cpu = ppl,
};
Directory.CreateDirectory(outDir);
var json = JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true });
var path = Path.Combine(outDir, "foundation.json");
File.WriteAllText(path, json);
Console.WriteLine(json);
Console.Error.WriteLine($"written to {path}");
