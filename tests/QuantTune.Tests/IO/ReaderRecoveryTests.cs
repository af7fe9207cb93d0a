using QuantTune.Formats.Gguf;
using QuantTune.IO;
using QuantTune.Models.Loading;
using QuantTune.Peft;
using QuantTune.Peft.Lora;

namespace QuantTune.Tests.IO;

/// <summary>
/// Readers of a LoRA adapter folder put back the adapter that a write killed between its two renames (the fallback
/// where the system has no atomic exchange) left under <c>.NAME.old</c>, as the writers do, instead of saying
/// "not found": merge and export gguf --adapter (<see cref="AdapterIO.Load"/>), export gguf-adapter
/// (<see cref="GgufLoraExport.Write"/>) and <see cref="AdapterConfig.Load"/>.
/// </summary>
public sealed class ReaderRecoveryTests() : TempFolderTest("qt-recover-")
{
    string AdapterLeftAside()
    {
        var adapter = Path.Combine(Dir, "adapter");
        var aside = AtomicDirectory.PreviousName(adapter);
        Directory.CreateDirectory(aside);
        foreach (var f in Directory.GetFiles(TestData.TinyLlamaLoraDir)) File.Copy(f, Path.Combine(aside, Path.GetFileName(f)));
        return adapter;
    }

    void AssertPutBack(string adapter)
    {
        Assert.True(File.Exists(Path.Combine(adapter, "adapter_model.safetensors")));
        Assert.False(Directory.Exists(AtomicDirectory.PreviousName(adapter)));
    }

    [Fact]
    public void EveryAdapterReaderPutsBackAnAdapterLeftAside()
    {
        var adapter = AdapterLeftAside();
        Assert.Equal(8, ((LoraConfig)AdapterConfig.Load(adapter)).R);
        AssertPutBack(adapter);

        Directory.Move(adapter, AtomicDirectory.PreviousName(adapter));
        var gguf = Path.Combine(Dir, "adapter.gguf");
        GgufLoraExport.Write(TestData.TinyLlamaDir, adapter, gguf);
        AssertPutBack(adapter);
        Assert.True(GgufFile.StartsWithMagic(gguf));

        Directory.Move(adapter, AtomicDirectory.PreviousName(adapter));
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        AdapterIO.Load(pm.Model, adapter);
        AssertPutBack(adapter);
    }
}
