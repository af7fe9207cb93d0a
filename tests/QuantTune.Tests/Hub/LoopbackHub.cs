using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace QuantTune.Tests.Hub;

/// <summary>
/// A Hugging Face Hub on the loopback, answering as huggingface.co does: <c>api/models/&lt;repo&gt;/revision/&lt;rev&gt;</c>
/// (the commit and the files), HEAD and GET of <c>&lt;repo&gt;/resolve/&lt;rev&gt;/&lt;file&gt;</c> with <c>X-Repo-Commit</c>
/// and the git-blob <c>ETag</c> for small files, and for LFS files (here: *.safetensors) a 302 to an absolute CDN URL
/// with <c>X-Linked-Etag</c> (the sha256) and <c>X-Linked-Size</c>; the CDN honours <c>Range</c>. Errors carry the
/// Hub's <c>X-Error-Code</c>: RepoNotFound (401 without a token, as the Hub answers anonymous requests), RevisionNotFound,
/// EntryNotFound, GatedRepo (401 without the right token). Every request is recorded.
/// </summary>
public sealed class LoopbackHub : IDisposable
{
    public const string Commit = "0123456789abcdef0123456789abcdef01234567";

    readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    /// <summary>The CDN's own listener (another port: another origin, as the Hub's CDN is another host), or null.</summary>
    readonly TcpListener? _cdn;
    readonly Task? _cdnLoop;
    readonly string _repo;
    readonly Dictionary<string, byte[]> _files;
    readonly CancellationTokenSource _stop = new();
    readonly Task _loop;

    /// <summary>"METHOD path" (and " range=bytes=N-" when a Range was sent) of every request, in order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>A token the resolve endpoints require (a gated model); null: none.</summary>
    public string? RequiredToken { get; init; }

    /// <summary>The CDN closes the connection after this many bytes of the named file's first GET.</summary>
    public (string File, int Bytes)? CutOnce { get; set; }

    /// <summary>
    /// An earlier name of the repository: requests to it are answered, as the Hub answers for a renamed repository,
    /// with a 307 to the same path under the current name, given as a relative Location.
    /// </summary>
    public string? RenamedFrom { get; init; }

    /// <summary>The CDN sends LFS bodies in 64 KiB pieces this many milliseconds apart (a slow link); null: at once.</summary>
    public int? SlowChunkMilliseconds { get; init; }

    /// <summary>The CDN serves this file with one byte changed (its ETag stays the true sha256).</summary>
    public string? Corrupt { get; set; }

    public LoopbackHub(string repo, string folder, IEnumerable<string> files, bool cdnOnItsOwnPort = false)
    {
        _repo = repo;
        _files = files.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(folder, f)));
        _listener.Start();
        _loop = Task.Run(() => AcceptLoop(_listener));
        if (cdnOnItsOwnPort)
        {
            _cdn = new TcpListener(IPAddress.Loopback, 0);
            _cdn.Start();
            _cdnLoop = Task.Run(() => AcceptLoop(_cdn));
        }
    }

    public string Endpoint => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Where LFS files are served: the Hub's own origin, or the CDN's port.</summary>
    public string CdnEndpoint => _cdn is null ? Endpoint : $"http://127.0.0.1:{((IPEndPoint)_cdn.LocalEndpoint).Port}";

    /// <summary>Requests (as <see cref="Requests"/>) that carried an Authorization header.</summary>
    public ConcurrentQueue<string> AuthorizedRequests { get; } = new();

    public IReadOnlyDictionary<string, byte[]> Files => _files;

    public static bool IsLfs(string file) => file.EndsWith(".safetensors", StringComparison.Ordinal);

    /// <summary>The ETag the Hub gives a file: the sha256 of an LFS file, the git blob sha1 of another.</summary>
    public static string ETagOf(string file, byte[] bytes) => IsLfs(file)
        ? Convert.ToHexStringLower(SHA256.HashData(bytes))
        : Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {bytes.Length}\0"), .. bytes]));

    public IEnumerable<string> ResolveRequests => Requests.Where(r => r.Contains("/resolve/", StringComparison.Ordinal) || r.Contains("/lfs/", StringComparison.Ordinal));

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _cdn?.Stop();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); _cdnLoop?.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        _stop.Dispose();
    }

    async Task AcceptLoop(TcpListener listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
            _ = Task.Run(() => Serve(client));
        }
    }

    void Serve(TcpClient client)
    {
        using (client)
        {
            try
            {
                using var stream = client.GetStream();
                var (method, path, headers) = ReadRequest(stream);
                headers.TryGetValue("range", out var range);
                Requests.Enqueue($"{method} {path}" + (range is null ? "" : $" range={range}"));
                if (headers.ContainsKey("authorization")) AuthorizedRequests.Enqueue($"{method} {path}");
                Answer(stream, method, Uri.UnescapeDataString(path.Split('?')[0]), headers, range);
            }
            catch (IOException) { }
        }
    }

    void Answer(Stream stream, string method, string path, Dictionary<string, string> headers, string? range)
    {
        headers.TryGetValue("authorization", out var auth);
        bool hasToken = auth is not null;
        if (RenamedFrom is { } old && (path.StartsWith($"/api/models/{old}/", StringComparison.Ordinal) || path.StartsWith($"/{old}/", StringComparison.Ordinal)))
        {
            var moved = path.Replace(old, _repo, StringComparison.Ordinal);
            Write(stream, 307, [("Location", moved), ("X-Error-Message", "Repository was renamed")], null, 0);
            return;
        }
        var apiPrefix = $"/api/models/{_repo}/revision/";
        var resolvePrefix = $"/{_repo}/resolve/";
        if (path.StartsWith("/api/models/", StringComparison.Ordinal))
        {
            if (!path.StartsWith(apiPrefix, StringComparison.Ordinal)) { Error(stream, hasToken ? 404 : 401, "RepoNotFound", "Repository not found"); return; }
            var rev = path[apiPrefix.Length..];
            if (rev is not ("main" or Commit)) { Error(stream, 404, "RevisionNotFound", $"Invalid rev id: {rev}"); return; }
            var body = JsonSerializer.SerializeToUtf8Bytes(new { id = _repo, sha = Commit, siblings = _files.Keys.Select(f => new { rfilename = f }) });
            Write(stream, 200, [("Content-Type", "application/json")], method == "HEAD" ? null : body, body.Length);
            return;
        }
        if (path.StartsWith("/lfs/", StringComparison.Ordinal))
        {
            var file = _files.Keys.FirstOrDefault(f => ETagOf(f, _files[f]) == path[5..]);
            if (file is null) { Error(stream, 404, null, "no such blob"); return; }
            var bytes = _files[file];
            if (Corrupt == file) { bytes = (byte[])bytes.Clone(); bytes[^1] ^= 0xFF; }
            long from = range is not null && range.StartsWith("bytes=", StringComparison.Ordinal) ? long.Parse(range[6..].TrimEnd('-')) : 0;
            var slice = bytes.AsSpan((int)from).ToArray();
            var extra = new List<(string, string)> { ("ETag", $"\"{ETagOf(file, _files[file])}\""), ("Accept-Ranges", "bytes") };
            if (from > 0) extra.Add(("Content-Range", $"bytes {from}-{bytes.Length - 1}/{bytes.Length}"));
            if (CutOnce is { } cut && cut.File == file)
            {
                CutOnce = null;
                WriteHead(stream, from > 0 ? 206 : 200, extra, slice.Length);
                stream.Write(slice, 0, cut.Bytes);
                stream.Flush();
                return; // the connection closes with the body unfinished
            }
            if (SlowChunkMilliseconds is int pause && method != "HEAD")
            {
                WriteHead(stream, from > 0 ? 206 : 200, extra, slice.Length);
                for (int at = 0; at < slice.Length; at += 1 << 16)
                {
                    stream.Write(slice, at, Math.Min(1 << 16, slice.Length - at));
                    stream.Flush();
                    Thread.Sleep(pause);
                }
                return;
            }
            Write(stream, from > 0 ? 206 : 200, extra, method == "HEAD" ? null : slice, slice.Length);
            return;
        }
        if (!path.StartsWith(resolvePrefix, StringComparison.Ordinal)) { Error(stream, hasToken ? 404 : 401, "RepoNotFound", "Repository not found"); return; }
        var rest = path[resolvePrefix.Length..].Split('/', 2);
        if (rest[0] is not ("main" or Commit)) { Error(stream, 404, "RevisionNotFound", $"Invalid rev id: {rest[0]}"); return; }
        if (RequiredToken is not null && auth != $"Bearer {RequiredToken}")
        {
            Error(stream, hasToken ? 403 : 401, "GatedRepo", $"Access to model {_repo} is restricted. You must have access to it and be authenticated to access it. Please log in.");
            return;
        }
        var name = rest.Length > 1 ? rest[1] : "";
        if (!_files.TryGetValue(name, out var content)) { Error(stream, 404, "EntryNotFound", $"{name} does not exist on \"main\"", [("X-Repo-Commit", Commit)]); return; }
        var etag = ETagOf(name, content);
        if (IsLfs(name))
        {
            Write(stream, 302, [("Location", $"{CdnEndpoint}/lfs/{etag}?x-id=GetObject"), ("X-Repo-Commit", Commit), ("X-Linked-Etag", $"\"{etag}\""),
                ("X-Linked-Size", content.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("ETag", "\"pointer-etag\"")], null, 0);
            return;
        }
        Write(stream, 200, [("X-Repo-Commit", Commit), ("ETag", $"\"{etag}\""), ("Accept-Ranges", "bytes")], method == "HEAD" ? null : content, content.Length);
    }

    static void Error(Stream stream, int status, string? code, string message, IEnumerable<(string, string)>? extra = null)
    {
        var body = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { error = message }));
        var headers = new List<(string, string)>(extra ?? []) { ("X-Error-Message", message) };
        if (code is not null) headers.Add(("X-Error-Code", code));
        Write(stream, status, headers, body, body.Length);
    }

    static void Write(Stream stream, int status, IEnumerable<(string, string)> headers, byte[]? body, long length)
    {
        WriteHead(stream, status, headers, length);
        if (body is not null) stream.Write(body);
        stream.Flush();
    }

    static void WriteHead(Stream stream, int status, IEnumerable<(string Name, string Value)> headers, long length)
    {
        var head = new StringBuilder($"HTTP/1.1 {status} {(HttpStatusCode)status}\r\nConnection: close\r\nContent-Length: {length}\r\n");
        foreach (var (n, v) in headers) head.Append(n).Append(": ").Append(v).Append("\r\n");
        head.Append("\r\n");
        stream.Write(Encoding.ASCII.GetBytes(head.ToString()));
    }

    static (string Method, string Path, Dictionary<string, string> Headers) ReadRequest(Stream stream)
    {
        var bytes = new List<byte>();
        while (bytes.Count < 4 || !(bytes[^4] == '\r' && bytes[^3] == '\n' && bytes[^2] == '\r' && bytes[^1] == '\n'))
        {
            int b = stream.ReadByte();
            if (b < 0) throw new IOException("request cut");
            bytes.Add((byte)b);
        }
        var lines = Encoding.ASCII.GetString([.. bytes]).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var first = lines[0].Split(' ');
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
        return (first[0], first[1], headers);
    }
}
