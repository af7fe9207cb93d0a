using System.Text.Json;
using QuantTune.Formats.Gguf;
using QuantTune.Tests.Formats.Ollama;

namespace QuantTune.Tests.Cli;

public sealed class CliOllamaTests() : TempFolderTest("qt-cli-ollama-")
{
    [Fact]
    public void ExportOllamaWritesAModelfileNextToTheGguf()
    {
        var gguf = Path.Combine(Dir, "tiny.gguf");
        new GgufWriter().Add("general.architecture", GgufValue.Of("llama"))
            .Add("tokenizer.chat_template", GgufValue.Of("{% for m in messages %}{{ '<start_of_turn>' + m['role'] + '\n' + m['content'] + '<end_of_turn>\n' }}{% endfor %}"))
            .AddTensor("t", GgmlType.F32, [1], [0f]).Write(gguf);
        var r = CliRunner.Run("export", "ollama", "--gguf", gguf, "--system", "Be brief.", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var modelfile = Path.Combine(Dir, "Modelfile");
        Assert.Equal(modelfile, JsonDocument.Parse(r.Stdout).RootElement.GetProperty("modelfile").GetString());
        var commands = ModelfileParser.Parse(File.ReadAllText(modelfile));
        Assert.Equal(["model", "template", "stop", "stop", "system"], commands.Select(c => c.Name));
        Assert.Equal("./tiny.gguf", commands[0].Args);
        Assert.StartsWith("{{- $system := \"\" }}", commands[1].Args); // ollama's gemma-instruct
        Assert.Equal(["<start_of_turn>", "<end_of_turn>"], commands.Where(c => c.Name == "stop").Select(c => c.Args));
        Assert.Equal("Be brief.", commands[4].Args);

        var unknown = CliRunner.Run("export", "ollama", "--gguf", gguf, "--model", TestData.TinyQwen2Dir);
        CliRunner.AssertCleanFailure(unknown, "no chat template", "--template-file");
    }
}
