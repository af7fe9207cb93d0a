using System.Text.RegularExpressions;

namespace QuantTune.Hub;

/// <summary>
/// A model on the Hugging Face Hub as a user types it: <c>org/name</c>, or a name without a namespace
/// (<c>gpt2</c>: the Hub serves the early models under their old names, redirecting to their namespace), optionally
/// <c>@revision</c> (a branch, a tag or a commit; <c>main</c> when absent).
/// </summary>
public sealed partial record HubModelId(string Repo, string Revision)
{
    /// <summary>huggingface_hub's cache folder name for the repository: <c>models--org--name</c>.</summary>
    public string CacheFolderName => "models--" + Repo.Replace("/", "--", StringComparison.Ordinal);

    public override string ToString() => Revision == "main" ? Repo : $"{Repo}@{Revision}";

    /// <summary>The id <paramref name="text"/> names, or null when it is not of the form [org/]name[@revision].</summary>
    public static HubModelId? TryParse(string text)
    {
        var (repo, revision) = text.Split('@', 2) is [var r, var v] ? (r, v) : (text, "main");
        if (!RepoPattern().IsMatch(repo) || repo.Contains("..", StringComparison.Ordinal)) return null;
        if (revision.Length == 0 || revision.Contains("..", StringComparison.Ordinal) || !RevisionPattern().IsMatch(revision)) return null;
        return new HubModelId(repo, revision);
    }

    /// <summary>Whether the revision is a full commit hash (a snapshot folder's name).</summary>
    public bool IsCommit => CommitPattern().IsMatch(Revision);

    // The Hub's rule for a namespace and a repository name: letters, digits, '-', '_', '.'; no leading '-' or '.'.
    // The namespace may be absent, as huggingface_hub accepts it (the cache folder is then models--name).
    [GeneratedRegex(@"^([A-Za-z0-9][A-Za-z0-9_.\-]*/)?[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
    private static partial Regex RepoPattern();

    // Branch and tag names (refs/pr/1 included); no spaces, no backslash.
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.\-/]*$")]
    private static partial Regex RevisionPattern();

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitPattern();
}
