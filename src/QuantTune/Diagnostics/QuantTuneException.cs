namespace QuantTune.Diagnostics;

/// <summary>
/// An error a user can act on: bad input, a missing file, an option that cannot apply.
/// The message names the file, the field and what was expected. The CLI prints it without a
/// stack trace and exits non-zero.
/// </summary>
public class QuantTuneException : Exception
{
    public QuantTuneException(string message) : base(message) { }
    public QuantTuneException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>A file whose content is not what its format requires.</summary>
public class InvalidFormatException : QuantTuneException
{
    public string File { get; }
    public string? Field { get; }

    public InvalidFormatException(string file, string? field, string problem)
        : base(Compose(file, field, problem))
    {
        File = file;
        Field = field;
    }

    public InvalidFormatException(string file, string? field, string problem, Exception? inner)
        : base(Compose(file, field, problem), inner)
    {
        File = file;
        Field = field;
    }

    static string Compose(string file, string? field, string problem) =>
        field is null ? $"{file}: {problem}" : $"{file}: field '{field}': {problem}";
}
