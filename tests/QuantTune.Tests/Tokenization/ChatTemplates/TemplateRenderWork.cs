using QuantTune.Diagnostics;
using QuantTune.Tokenization.ChatTemplates;

namespace QuantTune.Tests.Tokenization.ChatTemplates;

/// <summary>A child process's work: renders the template in a file, as a CLI command would; exit 1 with the message on a QuantTuneException.</summary>
public static class TemplateRenderWork
{
    public const string Command = "render-template";

    public static int Run(string file)
    {
        try
        {
            Console.WriteLine(ChatTemplate.Parse(file, File.ReadAllText(file)).Render([new ChatMessage("user", "hi")], new ChatTemplateInputs()));
            return 0;
        }
        catch (QuantTuneException e)
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }
    }
}
