using Microsoft.Extensions.AI;
using QuantTune.Hub;
using QuantTune.Serving;
using QuantTune.Training;
using QuantTune.Training.FineTuning;

namespace FineTuneAndChat;

/// <summary>The whole sample: load, fine-tune with QLoRA on chat data, then ask the tuned model through <see cref="IChatClient"/>.</summary>
public static class Sample
{
    /// <summary>Fine-tunes <paramref name="model"/> (a folder or a Hub id) on <paramref name="chatData"/>, then asks the tuned model one question.</summary>
    public static async Task<SampleResult> RunAsync(string model, string chatData, string outputDirectory, int steps)
    {
        string folder = ModelSource.Resolve(model);
        var run = FineTuner.Run(new FineTuneRequest
        {
            ModelDirectory = folder, DataFile = chatData, OutputDirectory = outputDirectory, Method = FineTuneMethod.Qlora,
            SequenceLength = 96, Training = new TrainingOptions { Steps = steps, BatchSize = 2, LearningRate = 5e-3 },
        });
        using IChatClient chat = QuantTuneChatClient.Open(folder, adapter: run.ResultDirectory);
        var reply = await chat.GetResponseAsync("What is the capital of France?", new ChatOptions { MaxOutputTokens = 16 });
        return new SampleResult(reply.Text, run.EvalPerplexityBefore, run.EvalPerplexityAfter, run.ResultDirectory);
    }
}

/// <summary>The tuned model's answer, the held-out perplexity before and after the fine-tune, and where the adapter is.</summary>
public sealed record SampleResult(string Reply, double PerplexityBefore, double PerplexityAfter, string AdapterDirectory);
