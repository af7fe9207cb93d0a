namespace QuantTune.Hub;

/// <summary>The answer of <c>api/models/&lt;repo&gt;/revision/&lt;revision&gt;</c>: the commit and the repository's files.</summary>
public sealed record HubRepositoryInfo(string Commit, IReadOnlyList<string> Files);
