using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using QuantTune.Diagnostics;

namespace QuantTune.Hub;

/// <summary>
/// The Hub's HTTP protocol as huggingface_hub speaks it: the model-info API, HEAD on
/// <c>resolve/&lt;revision&gt;/&lt;file&gt;</c> for a file's metadata (relative redirects followed, the
/// redirect of an LFS file to its CDN read, not followed), and GET of the bytes with
/// <c>Range</c> to resume. The token goes as <c>Authorization: Bearer</c>, only to the Hub's own host.
/// Errors are <see cref="QuantTuneException"/>s that say what to do; no answer at all is a
/// <see cref="HubUnreachableException"/>.
/// </summary>
public sealed class HubClient : IDisposable
{
    readonly HttpClient _http;
    readonly HubSettings _settings;
    readonly Uri _endpoint;

    /// <summary>How many times a download cut off mid-file is resumed before giving up.</summary>
    public int ResumeAttempts { get; init; } = 4;

    public HubClient(HubSettings settings)
    {
        _settings = settings;
        _endpoint = Uri.TryCreate(settings.Endpoint + "/", UriKind.Absolute, out var e) && e.Scheme is "http" or "https" ? e
            : throw new QuantTuneException($"HF_ENDPOINT {settings.Endpoint}: expected an http(s) URL such as {HubSettings.DefaultEndpoint}");
        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None, ConnectTimeout = TimeSpan.FromSeconds(15) })
            { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("quanttune/1.0");
    }

    public void Dispose() => _http.Dispose();

    /// <summary>The page of a repository on the Hub (for messages).</summary>
    public string RepoUrl(HubModelId id) => new Uri(_endpoint, id.Repo).ToString();

    public Uri ResolveUrl(string repo, string revision, string file) =>
        new(_endpoint, $"{repo}/resolve/{Uri.EscapeDataString(revision)}/{string.Join('/', file.Split('/').Select(Uri.EscapeDataString))}");

    /// <summary>The commit a revision points to and the files in the repository at that commit.</summary>
    public HubRepositoryInfo GetRepositoryInfo(HubModelId id, CancellationToken cancel = default)
    {
        var url = new Uri(_endpoint, $"api/models/{id.Repo}/revision/{Uri.EscapeDataString(id.Revision)}");
        using var response = Send(HttpMethod.Get, url, null, followAll: true, cancel);
        Check(response, id, null);
        JsonDocument json;
        try { json = JsonDocument.Parse(response.Content.ReadAsStream(cancel)); }
        catch (JsonException e) { throw new QuantTuneException($"{url}: the answer is not JSON ({e.Message}); is HF_ENDPOINT ({_settings.Endpoint}) a Hugging Face Hub?", e); }
        using var _ = json;
        var root = json.RootElement;
        if (!root.TryGetProperty("sha", out var sha) || sha.GetString() is not { Length: > 0 } commit)
            throw new QuantTuneException($"{url}: the answer has no 'sha' (the commit); is HF_ENDPOINT ({_settings.Endpoint}) a Hugging Face Hub?");
        var files = root.TryGetProperty("siblings", out var siblings) && siblings.ValueKind == JsonValueKind.Array
            ? siblings.EnumerateArray().Select(s => s.TryGetProperty("rfilename", out var f) ? f.GetString() : null).OfType<string>().ToList()
            : [];
        return new HubRepositoryInfo(commit, files);
    }

    /// <summary>A file's metadata (huggingface_hub's get_hf_file_metadata), or null when the Hub has no such file.</summary>
    public HubFileMetadata? GetFileMetadata(HubModelId id, string revision, string file, CancellationToken cancel = default)
    {
        var url = ResolveUrl(id.Repo, revision, file);
        using var response = Send(HttpMethod.Head, url, null, followAll: false, cancel, identity: true);
        if (response.StatusCode == HttpStatusCode.NotFound && ErrorCode(response) == "EntryNotFound") return null;
        bool redirect = (int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is not null;
        if (!redirect) Check(response, id, file);
        var commit = Header(response, "X-Repo-Commit")
            ?? throw new QuantTuneException($"{url}: no X-Repo-Commit header; is HF_ENDPOINT ({_settings.Endpoint}) a Hugging Face Hub?");
        var linked = Header(response, "X-Linked-Etag");
        var etag = linked ?? Header(response, "ETag")
            ?? throw new QuantTuneException($"{url}: no ETag header; the file cannot be cached or checked");
        var sizeText = Header(response, "X-Linked-Size") ?? (redirect ? null : response.Content.Headers.ContentLength?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (!long.TryParse(sizeText, out var size) || size < 0)
            throw new QuantTuneException($"{url}: no X-Linked-Size or Content-Length header; the download cannot be checked");
        var location = redirect && response.Headers.Location is { } l ? new Uri(url, l) : response.RequestMessage?.RequestUri ?? url;
        return new HubFileMetadata(commit, HubFileMetadata.NormalizeETag(etag), size, location, linked is not null);
    }

    /// <summary>
    /// Downloads <paramref name="location"/> into <paramref name="partial"/>, continuing from the bytes
    /// already there (<c>Range: bytes=N-</c>), and again after a cut connection; <paramref name="progress"/>
    /// gets the bytes in the file so far.
    /// </summary>
    public void Download(Uri location, string partial, long size, string what, Action<long> progress, CancellationToken cancel = default)
    {
        for (int attempt = 0; ; attempt++)
        {
            long have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
            if (have > size) { File.Delete(partial); have = 0; }
            if (have == size) { progress(have); return; }
            try
            {
                using var response = Send(HttpMethod.Get, location, have > 0 ? have : null, followAll: true, cancel);
                if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable) { File.Delete(partial); continue; }
                Check(response, null, what);
                bool append = have > 0 && response.StatusCode == HttpStatusCode.PartialContent;
                if (!append) have = 0;
                using var body = response.Content.ReadAsStream(cancel);
                using var file = new FileStream(partial, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
                var buffer = new byte[1 << 20];
                progress(have);
                for (int n; (n = body.Read(buffer)) > 0;)
                {
                    cancel.ThrowIfCancellationRequested();
                    file.Write(buffer, 0, n);
                    have += n;
                    progress(have);
                }
                file.Flush(flushToDisk: true);
                if (have < size) throw new IOException($"the connection closed after {have} of {size} bytes");
                return;
            }
            catch (Exception e) when (e is IOException or HttpRequestException or HubUnreachableException && !cancel.IsCancellationRequested)
            {
                if (attempt + 1 >= ResumeAttempts)
                {
                    long kept = File.Exists(partial) ? new FileInfo(partial).Length : 0;
                    throw new HubUnreachableException($"{what}: the download broke off ({e.Message}) {ResumeAttempts} times; " +
                        $"{kept} of {size} bytes are kept in {partial} and the next run resumes from there", e);
                }
            }
        }
    }

    HttpResponseMessage Send(HttpMethod method, Uri url, long? rangeFrom, bool followAll, CancellationToken cancel, bool identity = false)
    {
        for (int hops = 0; ; hops++)
        {
            var request = new HttpRequestMessage(method, url);
            if (_settings.Token is { } token && SameOrigin(url, _endpoint)) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            if (rangeFrom is long from) request.Headers.Range = new RangeHeaderValue(from, null);
            if (identity) request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
            HttpResponseMessage response;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            try { response = _http.Send(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token); }
            catch (HttpRequestException e) { throw new HubUnreachableException($"{url.GetLeftPart(UriPartial.Authority)}: no answer ({e.Message}); check the network, HF_ENDPOINT, or set HF_HUB_OFFLINE=1 to use the cache only", e); }
            catch (TaskCanceledException e) when (!cancel.IsCancellationRequested) { throw new HubUnreachableException($"{url.GetLeftPart(UriPartial.Authority)}: no answer within 60 s; check the network, HF_ENDPOINT, or set HF_HUB_OFFLINE=1 to use the cache only", e); }
            int code = (int)response.StatusCode;
            if (code is < 300 or >= 400 || response.Headers.Location is not { } location || hops >= 10) return response;
            // huggingface_hub follows only relative redirects (no host) on HEAD: an LFS file's redirect to its CDN carries the metadata.
            if (!followAll && location.IsAbsoluteUri) return response;
            var next = new Uri(url, location);
            response.Dispose();
            url = next;
        }
    }

    /// <summary>Turns an error status into a message that says what to do, with the Hub's X-Error-Code.</summary>
    void Check(HttpResponseMessage response, HubModelId? id, string? file)
    {
        int code = (int)response.StatusCode;
        if (code is >= 200 and < 300) return;
        var errorCode = ErrorCode(response);
        var serverMessage = Header(response, "X-Error-Message");
        var repo = id is null ? "" : id.Repo;
        var where = id is null ? file ?? response.RequestMessage?.RequestUri?.ToString() ?? "" : file is null ? id.ToString() : $"{id}: {file}";
        var tokenHint = _settings.Token is null ? "no token was sent: set HF_TOKEN (or log in with `hf auth login`, which writes $HF_HOME/token)" : "the token (HF_TOKEN or $HF_HOME/token) was sent and not accepted";
        string message = (code, errorCode) switch
        {
            (403, "GatedRepo") or (401, "GatedRepo") => $"{where}: the model is gated: accept its conditions at {RepoUrl(id!)} and use a token of that account; {tokenHint}",
            (404, "RevisionNotFound") => $"{where}: the repository has no revision '{id?.Revision}' (a branch, tag or commit)",
            (404, "EntryNotFound") => $"{where}: the repository has no such file",
            (401, _) or (404, "RepoNotFound") => $"{where}: no model '{repo}' on {_settings.Endpoint}, or it is private or gated; {tokenHint}",
            (403, _) => $"{where}: access refused (HTTP 403); {tokenHint}",
            (404, _) => $"{where}: not found (HTTP 404)",
            (429, _) => $"{where}: the Hub limits the request rate (HTTP 429); wait and run again, or use a token (HF_TOKEN)",
            _ => $"{where}: HTTP {code} {response.ReasonPhrase}",
        };
        if (serverMessage is { Length: > 0 } && code != 404) message += $" (the Hub says: {serverMessage})";
        if (code >= 500) throw new HubUnreachableException(message, null);
        throw new QuantTuneException(message);
    }

    static string? ErrorCode(HttpResponseMessage response) => Header(response, "X-Error-Code");

    static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var v) || response.Content.Headers.TryGetValues(name, out v) ? v.FirstOrDefault() : null;

    static bool SameOrigin(Uri a, Uri b) => a.Scheme == b.Scheme && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;
}

/// <summary>The Hub gave no answer (no network, a closed port, a timeout, a server error).</summary>
public sealed class HubUnreachableException(string message, Exception? inner) : QuantTuneException(message, inner);
