using QuantTune.Diagnostics;
using static TorchSharp.torch;

namespace QuantTune.Training.Optimizers;

/// <summary>
/// Saving and loading of an optimizer's <see cref="StateEntry"/> list. Loading checks every
/// name, shape and dtype first and only then writes, so a wrong checkpoint leaves the optimizer
/// untouched instead of half-loaded.
/// </summary>
internal static class StateDictIO
{
    public static IReadOnlyDictionary<string, Tensor> Save(IEnumerable<StateEntry> entries)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            // A read makes temporaries (detach, cpu) before its copy. In a scope they stay reachable until the
            // copy is made and are freed right after; outside one, the GC could finalize a temporary while
            // libtorch still copies from it (a crash at the end of a fine-tune), and each checkpoint would
            // leave them for the finalizer.
            using var scope = NewDisposeScope();
            var value = entry.Read();
            value.DetachFromDisposeScope();
            result.Add(entry.Key, value);
        }
        return result;
    }

    public static void Load(string optimizer, IReadOnlyList<StateEntry> entries, IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var expected = entries.ToDictionary(e => e.Key, StringComparer.Ordinal);
        var unknown = state.Keys.Where(k => !expected.ContainsKey(k)).Order(StringComparer.Ordinal).ToArray();
        var missing = expected.Keys.Where(k => !state.ContainsKey(k)).Order(StringComparer.Ordinal).ToArray();
        if (unknown.Length > 0 || missing.Length > 0)
        {
            var parts = new List<string>();
            if (missing.Length > 0) parts.Add($"missing {Describe(missing)}");
            if (unknown.Length > 0) parts.Add($"unexpected {Describe(unknown)}");
            throw new QuantTuneException(
                $"{optimizer}: the saved optimizer state does not match these parameters and this optimizer ({string.Join("; ", parts)}). " +
                "It must come from the same optimizer kind over the same named parameters.");
        }
        foreach (var entry in entries)
        {
            var saved = state[entry.Key];
            if (saved is null) throw new QuantTuneException($"{optimizer}: state entry '{entry.Key}' is null.");
            if (saved.dtype != entry.DType || !saved.shape.SequenceEqual(entry.Shape))
                throw new QuantTuneException(
                    $"{optimizer}: state entry '{entry.Key}' is {saved.dtype} [{string.Join(", ", saved.shape)}], " +
                    $"expected {entry.DType} [{string.Join(", ", entry.Shape)}].");
        }
        foreach (var entry in entries)
        {
            using var scope = NewDisposeScope(); // copy_ returns a new handle to the live tensor
            entry.Write(state[entry.Key]);
        }
    }

    static string Describe(string[] keys) =>
        keys.Length <= 5 ? string.Join(", ", keys.Select(k => $"'{k}'"))
            : string.Join(", ", keys.Take(5).Select(k => $"'{k}'")) + $" and {keys.Length - 5} more";
}
