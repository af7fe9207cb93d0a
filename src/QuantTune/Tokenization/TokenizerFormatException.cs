namespace QuantTune.Tokenization;

/// <summary>
/// Thrown when a tokenizer file is missing, is not valid JSON, or describes a tokenizer
/// this library does not support. The message names the file, the JSON field and what was expected.
/// </summary>
public sealed class TokenizerFormatException : QuantTune.Diagnostics.InvalidFormatException
{
    public TokenizerFormatException(string filePath, string detail, Exception? innerException = null)
        : this(filePath, null, detail, innerException) { }

    public TokenizerFormatException(string filePath, string? field, string problem, Exception? innerException)
        : base(filePath, field, problem, innerException)
    {
    }

    /// <summary>The file that was being read.</summary>
    public string FilePath => File;
}
