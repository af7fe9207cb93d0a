using System.Runtime.CompilerServices;

namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>
/// What one render has spent of its <see cref="TemplateLimits"/>. The render in progress on this thread is
/// <see cref="Current"/>, so that operators and filters, which are static, can check a size before they build it.
/// </summary>
internal sealed class TemplateBudget(TemplateLimits limits)
{
    [ThreadStatic]
    private static TemplateBudget? _current;

    private long _iterations;
    private int _calls;

    public TemplateLimits Limits { get; } = limits;

    /// <summary>The budget of the render running on this thread (the defaults outside a render).</summary>
    public static TemplateBudget Current => _current ??= new TemplateBudget(TemplateLimits.Default);

    /// <summary>Makes <paramref name="budget"/> the current one until the returned scope is disposed.</summary>
    public static Scope Enter(TemplateBudget budget)
    {
        var previous = _current;
        _current = budget;
        return new Scope(previous);
    }

    public readonly struct Scope(TemplateBudget? previous) : IDisposable
    {
        public void Dispose() => _current = previous;
    }

    /// <summary>Refuses a string of <paramref name="length"/> characters or a list of that many items before it is built.</summary>
    public static void CheckLength(long length, string what)
    {
        int max = Current.Limits.MaxLength;
        if (length > max) throw new TemplateError($"{what} would be {length:N0} long, over the limit of {max:N0} (TemplateLimits.MaxLength)");
    }

    /// <summary>A string a render built, refused past the length limit (the check behind every operation that builds one).</summary>
    public static string Within(string value)
    {
        CheckLength(value.Length, "a string");
        return value;
    }

    /// <summary>A list a render built, refused past the length limit.</summary>
    public static IReadOnlyList<TemplateValue> Within(IReadOnlyList<TemplateValue> items)
    {
        CheckLength(items.Count, "a list");
        return items;
    }

    /// <summary>Counts one loop iteration.</summary>
    public void Iterate()
    {
        if (++_iterations > Limits.MaxLoopIterations)
            throw new TemplateError($"the loops ran over {Limits.MaxLoopIterations:N0} iterations (TemplateLimits.MaxLoopIterations)");
    }

    /// <summary>Enters a macro call; the caller leaves it with <see cref="LeaveCall"/>.</summary>
    public void EnterCall(string name)
    {
        if (++_calls > Limits.MaxDepth)
        {
            _calls--;
            throw new TemplateError($"macro calls nest deeper than {Limits.MaxDepth} (TemplateLimits.MaxDepth): '{name}' calls itself without end?");
        }
    }

    public void LeaveCall() => _calls--;

    /// <summary>Refuses to go deeper when the thread's stack is nearly used up, whatever the counts say.</summary>
    public static void CheckStack()
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw new TemplateError("the template nests too deeply for the stack");
    }
}
