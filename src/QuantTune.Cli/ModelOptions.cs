using QuantTune.Serving;
using QuantTune.Generation;
using System.CommandLine;

namespace QuantTune.Cli;

/// <summary>
/// The options shared by every command that runs a model (<c>generate</c>, <c>eval perplexity</c>,
/// <c>eval mmlu</c>): the model, its dtype, device and threads, and what runs on top of it (an
/// adapter, a QST side network, BitNet's dense or packed layers).
/// </summary>
public sealed class ModelOptions
{
    public Option<string> Model { get; } = Options.Model();
    readonly Option<string> _dtype = Options.DType();
    readonly Option<string> _device = Options.Device();
    readonly Option<int> _threads = Options.Threads();
    readonly Option<string?> _adapter = ModelSessionOptions.AdapterOption();
    readonly Option<string?> _qst = ModelSessionOptions.QstOption();
    readonly Option<bool> _dense = ModelSessionOptions.DenseBitNetOption();

    /// <summary>Puts the options first in <paramref name="command"/>'s options and returns it.</summary>
    public Command AddTo(Command command)
    {
        Option[] shared = [Model, _dtype, _device, _threads, _adapter, _qst, _dense];
        for (int i = 0; i < shared.Length; i++) command.Options.Insert(i, shared[i]);
        return command;
    }

    /// <summary>Sets the thread count, then loads the model with whatever the options put on top of it.</summary>
    public ModelSession Open(ParseResult r)
    {
        Options.ApplyThreads(r.GetValue(_threads));
        var (dtype, device) = Options.Runtime(r, _dtype, _device);
        return ModelSession.Open(r.GetValue(Model)!, dtype, device, r.GetValue(_adapter), r.GetValue(_qst), r.GetValue(_dense));
    }
}
