using System.CommandLine;
using QuantTune.Diagnostics;

namespace QuantTune.Cli;

/// <summary>
/// Old option names kept working after a rename: a hidden option of the old name (not in --help),
/// read in place of the new one with a warning on stderr, and refused together with it.
/// </summary>
public static class RenamedOptions
{
    public static Option<T> Hidden<T>(string oldName, string newName) => new(oldName) { Hidden = true, Description = $"renamed {newName}" };

    /// <summary>The new option's value, else the old one's (with a warning); both given is an error naming both.</summary>
    public static T? Value<T>(ParseResult r, Option<T> current, Option<T> old)
    {
        if (r.GetResult(old) is not { Implicit: false }) return r.GetValue(current);
        if (r.GetResult(current) is { Implicit: false })
            throw new QuantTuneException($"{old.Name} and {current.Name}: {old.Name} is the old name of {current.Name}; give {current.Name} only");
        Console.Error.WriteLine($"warning: {old.Name} is now {current.Name}; the old name still works but is no longer listed in --help");
        return r.GetValue(old);
    }
}
