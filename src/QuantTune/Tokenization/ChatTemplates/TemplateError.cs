namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>
/// A problem found while evaluating (a wrong type for a filter, a bad call); the evaluator turns
/// it into a <see cref="ChatTemplateException"/> naming the template line.
/// </summary>
internal sealed class TemplateError(string message) : Exception(message);
