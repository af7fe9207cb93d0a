namespace QuantTune.Peft.Common;

/// <summary>
/// What a method's Apply did: the module paths it adapted (wrapped, or whose bias it unfroze) and
/// the number of trainable parameter elements it left, everything else in the model being frozen.
/// </summary>
public sealed record PeftApplied(string PeftType, IReadOnlyList<string> Modules, long TrainableParameters);
