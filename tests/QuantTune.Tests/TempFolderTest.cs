namespace QuantTune.Tests;

/// <summary>A test class that owns a fresh temporary folder, <see cref="Dir"/>, deleted after each test.</summary>
public abstract class TempFolderTest(string prefix) : IDisposable
{
    protected string Dir { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    public void Dispose()
    {
        Directory.Delete(Dir, recursive: true);
        GC.SuppressFinalize(this);
    }
}
