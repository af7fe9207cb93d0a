namespace QuantTune.Training.Data;

/// <summary>One Alpaca-style record as read from the file, before tokenization.</summary>
/// <param name="Line">1-based line where the record starts, for messages about it later (e.g. too long).</param>
public sealed record InstructionRecord(string Instruction, string? Input, string Output, int Line);
