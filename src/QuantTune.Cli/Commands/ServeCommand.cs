using QuantTune.Serving;
using System.CommandLine;
using QuantTune.Cli.Serving;
using QuantTune.Generation;

namespace QuantTune.Cli.Commands;

/// <summary><c>quanttune serve</c>: the model behind an OpenAI-compatible HTTP endpoint (chat completions, text completions, models).</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var modelOptions = new ModelOptions();
        var template = ChatCommand.TemplateOption();
        var host = new Option<string>("--host") { Description = "address to listen on (the loopback by default; 0.0.0.0 exposes the model to the network)", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "port to listen on", DefaultValueFactory = _ => 8080 };
        var apiKey = new Option<string?>("--api-key") { Description = "require this key as 'Authorization: Bearer KEY' (default: the QUANTTUNE_API_KEY variable, else none)" };
        var maxTokens = new Option<int>("--max-tokens-limit") { Description = "the most tokens one reply may ask for", DefaultValueFactory = _ => 4096 };
        var cmd = modelOptions.AddTo(new Command("serve", "Serve the model as an OpenAI-compatible API: POST /v1/chat/completions and POST /v1/completions (stream: true for server-sent events), GET /v1/models.")
            { template, host, port, apiKey, maxTokens });
        cmd.SetAction(async (r, cancel) =>
        {
            if (r.GetValue(port) is < 0 or > 65535) throw new Diagnostics.QuantTuneException($"--port {r.GetValue(port)}: expected 0 to 65535");
            var session = modelOptions.Open(r);
            string model = r.GetValue(modelOptions.Model)!;
            using var client = new QuantTuneChatClient(session, ChatCommand.Open(session, model, r.GetValue(template), null),
                Path.GetFileName(Path.TrimEndingDirectorySeparator(model)), ownsSession: true);
            var options = new ServeOptions
            {
                Host = r.GetValue(host)!, Port = r.GetValue(port), MaxTokensLimit = r.GetValue(maxTokens),
                ApiKey = r.GetValue(apiKey) ?? (Environment.GetEnvironmentVariable("QUANTTUNE_API_KEY") is { Length: > 0 } k ? k : null),
            };
            await using var app = await ChatServer.StartAsync(client, Path.GetFileName(Path.TrimEndingDirectorySeparator(model)), options);
            Console.Error.WriteLine($"serving {model} at {string.Join(", ", app.Urls)}/v1 (OpenAI-compatible); Ctrl+C stops");
            try { await Task.Delay(Timeout.Infinite, cancel); }
            catch (OperationCanceledException) { }
            await app.StopAsync(CancellationToken.None);
            return 0;
        });
        return cmd;
    }
}
