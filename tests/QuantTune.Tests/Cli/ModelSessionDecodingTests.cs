using QuantTune.Serving;
using QuantTune.Cli;
using QuantTune.Generation;
using QuantTune.Models.Loading;
using QuantTune.Quantization.Models;
using QuantTune.SideTuning;
using static TorchSharp.torch;

namespace QuantTune.Tests.Cli;

/// <summary>The model a <c>--qst</c> session opens generates incrementally, with the ids of the rerun-the-sequence path.</summary>
public sealed class ModelSessionDecodingTests() : TempFolderTest("qt-session-")
{
    [Fact]
    public void QstSessionDecodesIncrementallyWithTheIdsOfTheFullForward()
    {
        var side = Path.Combine(Dir, "side");
        using (var pm = PretrainedModel.Load(TestData.TinyLlamaDir))
        {
            ModelQuantizer.QuantizeNf4DoubleQuant(pm.Model);
            var qst = new QstModel(pm.Model, new QstConfig(), seed: 2);
            using (no_grad()) qst.side.gates.sub_(1.5);
            QstCheckpoint.Save(qst, TestData.TinyLlamaDir, "nf4-block64-dq", side);
        }
        using var session = ModelSession.Open(TestData.TinyLlamaDir, ScalarType.Float32, CPU, adapter: null, qst: side);
        Assert.NotNull(session.Decoding);
        var prompt = session.Pretrained.Tokenizer.Encode("ROMEO:");
        var options = new SamplingOptions { MaxNewTokens = 24, StopTokens = [] };
        var generated = session.Generate(prompt, options).ToArray();
        var rerun = TextGenerator.Generate(session.Forward!, CPU, [], prompt, options).ToArray();
        Assert.Equal(24, generated.Length);
        Assert.Equal(rerun, generated);
    }
}
