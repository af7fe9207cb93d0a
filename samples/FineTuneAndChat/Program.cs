// dotnet run --project samples/FineTuneAndChat -c Release -- [MODEL] [CHAT_DATA] [OUT]
// MODEL: a local Hugging Face folder or a Hub id (default: the repository's embedded tiny-llama).
string repo = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));
string model = args.Length > 0 ? args[0] : Path.Combine(repo, "assets", "models", "tiny-llama");
string data = args.Length > 1 ? args[1] : Path.Combine(repo, "assets", "data", "chat-sample.jsonl");
string output = args.Length > 2 ? args[2] : "fine-tune-and-chat-output";

var result = await FineTuneAndChat.Sample.RunAsync(model, data, output, steps: 20);
Console.WriteLine($"held-out perplexity {result.PerplexityBefore:F2} -> {result.PerplexityAfter:F2}; adapter in {result.AdapterDirectory}");
Console.WriteLine($"What is the capital of France? {result.Reply}");
