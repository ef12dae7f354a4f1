using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Parley.Inference.Tests;
using Parley.Server.Hosting;

namespace Parley.Server.Tests;

/// <summary>
/// 'parley pull' against a real HTTP server on 127.0.0.1 standing in for Hugging Face: a download that
/// breaks off is resumed with a range request, and a file that is not GGUF never enters the store.
/// </summary>
public sealed class PullTests : IAsyncLifetime, IDisposable
{
    private const string File = "tiny-llama-spm-q4_0.gguf";
    private readonly string _store = Directory.CreateTempSubdirectory("parley-store-").FullName;
    private readonly byte[] _model = System.IO.File.ReadAllBytes(TestModels.Tiny(File));
    private WebApplication _hub = null!;
    private string _endpoint = "";
    private int _breakAfter = -1;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _hub = builder.Build();
        _hub.MapGet("/owner/repo/resolve/main/{name}", async (string name, HttpContext http) =>
        {
            if (name == "notes.gguf")
            {
                await http.Response.WriteAsync("this is not a model");
                return;
            }

            if (name != File)
            {
                http.Response.StatusCode = 404;
                return;
            }

            // Serves the file with range support; the first full request is cut off after _breakAfter bytes.
            long from = 0;
            if (http.Request.Headers.Range.ToString() is { Length: > 0 } range) from = long.Parse(range["bytes=".Length..].TrimEnd('-'));
            http.Response.StatusCode = from > 0 ? 206 : 200;
            http.Response.ContentLength = _model.Length - from;
            if (from > 0) http.Response.Headers.ContentRange = $"bytes {from}-{_model.Length - 1}/{_model.Length}";
            int end = _breakAfter > 0 && from == 0 ? _breakAfter : _model.Length;
            await http.Response.Body.WriteAsync(_model.AsMemory((int)from, end - (int)from));
            await http.Response.Body.FlushAsync();
            if (end < _model.Length)
            {
                // Give the client a moment to read what was sent: an abort (RST) discards bytes still in flight.
                await Task.Delay(200);
                http.Abort();
            }
        });
        await _hub.StartAsync();
        _endpoint = ParleyServer.Address(_hub).ToString();
    }

    private ModelDownloader Downloader(HttpClient http) => new(http, new ModelStore(_store), _endpoint);

    [Fact]
    public async Task ABrokenDownloadResumesAndTheFileArrivesWhole()
    {
        _breakAfter = _model.Length / 3;
        using var http = new HttpClient();
        var first = await Assert.ThrowsAsync<DownloadException>(() => Downloader(http).PullAsync($"hf:owner/repo/{File}"));
        Assert.Contains("resume", first.Message);
        // The connection reset may still drop bytes in flight, so the partial file holds at most what was sent.
        Assert.InRange(new FileInfo(Path.Combine(_store, File + ".partial")).Length, 1, _breakAfter);
        Assert.Empty(new ModelStore(_store).List());

        long last = 0;
        string path = await Downloader(http).PullAsync($"hf:owner/repo/{File}", new InlineProgress(p => last = p.Done));
        Assert.Equal(_model.Length, last);
        Assert.Equal(_model, await System.IO.File.ReadAllBytesAsync(path));
        Assert.Equal([path], new ModelStore(_store).List());
    }

    [Fact]
    public async Task AFileThatIsNotGgufIsRefused()
    {
        using var http = new HttpClient();
        var e = await Assert.ThrowsAsync<DownloadException>(() => Downloader(http).PullAsync("hf:owner/repo/notes.gguf"));
        Assert.Contains("not a GGUF file", e.Message);
        Assert.Empty(Directory.GetFiles(_store));
    }

    [Fact]
    public async Task MissingFilesBadReferencesAndNoNetworkFailWithOneLine()
    {
        using var http = new HttpClient();
        var missing = await Assert.ThrowsAsync<DownloadException>(() => Downloader(http).PullAsync("hf:owner/repo/absent.gguf"));
        Assert.Contains("404", missing.Message);
        await Assert.ThrowsAsync<DownloadException>(() => Downloader(http).PullAsync("owner/repo.gguf"));
        // Port 1 on loopback: nothing listens, as offline nothing answers.
        var offline = await Assert.ThrowsAsync<DownloadException>(() => new ModelDownloader(http, new ModelStore(_store), "http://127.0.0.1:1").PullAsync($"hf:owner/repo/{File}"));
        Assert.StartsWith("cannot reach", offline.Message);
        Assert.DoesNotContain('\n', offline.Message);
    }

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    public void Dispose() => Directory.Delete(_store, recursive: true);

    private sealed class InlineProgress(Action<(long Done, long? Total)> report) : IProgress<(long Done, long? Total)>
    {
        public void Report((long Done, long? Total) value) => report(value);
    }
}
