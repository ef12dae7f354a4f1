using System.Net;
using System.Net.Http.Headers;

namespace Parley.Server.Hosting;

/// <summary>A download that failed, with one line that says why (printed as is by the CLI).</summary>
public sealed class DownloadException(string message) : IOException(message);

/// <summary>
/// Fetches a GGUF file from Hugging Face (hf:OWNER/REPO/FILE.gguf) into the model store. Bytes go to
/// FILE.gguf.partial, which a later pull resumes with an HTTP range request; the file enters the
/// store only when its size matches what the server announced and it starts with the GGUF magic.
/// HF_ENDPOINT points it at a mirror, as with Hugging Face's own tools.
/// </summary>
public sealed class ModelDownloader(HttpClient http, ModelStore store, string? endpoint = null)
{
    public const string EndpointVariable = "HF_ENDPOINT";
    public const string Scheme = "hf:";

    /// <summary>Where files come from: the constructor's endpoint, else HF_ENDPOINT, else huggingface.co.</summary>
    public string Endpoint { get; } =
        (endpoint ?? (Environment.GetEnvironmentVariable(EndpointVariable) is { Length: > 0 } e ? e : "https://huggingface.co")).TrimEnd('/');

    /// <summary>The download URL and file name of hf:OWNER/REPO/PATH.gguf.</summary>
    public static (Uri Url, string FileName) Resolve(string reference, string endpoint)
    {
        string rest = reference.StartsWith(Scheme, StringComparison.Ordinal) ? reference[Scheme.Length..] : "";
        var parts = rest.Split('/');
        if (parts.Length < 3 || parts.Any(p => p.Length == 0 || p is "." or "..") || !rest.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
        {
            throw new DownloadException($"expected hf:OWNER/REPO/FILE.gguf, got '{reference}'");
        }

        string path = string.Join('/', parts[2..].Select(Uri.EscapeDataString));
        return (new Uri($"{endpoint}/{Uri.EscapeDataString(parts[0])}/{Uri.EscapeDataString(parts[1])}/resolve/main/{path}"), parts[^1]);
    }

    /// <summary>Downloads (or resumes) the file; returns its path in the store. Progress reports bytes so far and the total when known.</summary>
    public async Task<string> PullAsync(string reference, IProgress<(long Done, long? Total)>? progress = null, CancellationToken ct = default)
    {
        var (url, name) = Resolve(reference, Endpoint);
        string target = Path.Combine(store.Root, name);
        if (File.Exists(target)) return target;
        Directory.CreateDirectory(store.Root);
        string partial = target + ".partial";
        long have = File.Exists(partial) ? new FileInfo(partial).Length : 0;

        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (have > 0) request.Headers.Range = new RangeHeaderValue(have, null);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        }
        catch (HttpRequestException e)
        {
            throw new DownloadException($"cannot reach {url.Host} to download {name}: {e.Message}");
        }

        long? total;
        using (response)
        {
            bool append;
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && have > 0)
            {
                total = response.Content.Headers.ContentRange?.Length;
                if (total != have) throw new DownloadException($"the partial download of {name} does not fit the file on the server; delete {partial} and pull again");
                append = true;
            }
            else if (response.StatusCode == HttpStatusCode.PartialContent)
            {
                total = response.Content.Headers.ContentRange?.Length;
                append = true;
            }
            else if (response.IsSuccessStatusCode)
            {
                total = response.Content.Headers.ContentLength;
                append = false;
                have = 0;
            }
            else
            {
                throw new DownloadException($"{url} answered {(int)response.StatusCode} {response.ReasonPhrase}");
            }

            if (response.StatusCode != HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                await using var source = await response.Content.ReadAsStreamAsync(ct);
                await using var file = new FileStream(partial, append ? FileMode.Append : FileMode.Create, FileAccess.Write);
                var buffer = new byte[1 << 16];
                long done = have;
                int n;
                try
                {
                    while ((n = await source.ReadAsync(buffer, ct)) > 0)
                    {
                        await file.WriteAsync(buffer.AsMemory(0, n), ct);
                        done += n;
                        progress?.Report((done, total));
                    }
                }
                catch (Exception e) when (e is IOException or HttpRequestException)
                {
                    throw new DownloadException($"the download of {name} broke off after {done} bytes ({e.Message}); run pull again to resume");
                }
            }
        }

        Verify(partial, name, total);
        File.Move(partial, target);
        return target;
    }

    private static void Verify(string partial, string name, long? total)
    {
        long size = new FileInfo(partial).Length;
        if (total is long t && size != t) throw new DownloadException($"the download of {name} is incomplete ({size} of {t} bytes); run pull again to resume");
        Span<byte> magic = stackalloc byte[4];
        using (var f = File.OpenRead(partial))
        {
            if (f.Read(magic) < 4 || !magic.SequenceEqual("GGUF"u8))
            {
                f.Close();
                File.Delete(partial);
                throw new DownloadException($"{name} is not a GGUF file (it does not start with 'GGUF'); nothing was stored");
            }
        }
    }
}
