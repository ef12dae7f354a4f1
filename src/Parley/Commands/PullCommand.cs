using System.Diagnostics;
using Parley.Cli;
using Parley.Server.Hosting;

namespace Parley.Commands;

/// <summary>parley pull hf:OWNER/REPO/FILE.gguf: downloads a model into the store, with a progress bar; resumes a broken download.</summary>
public static class PullCommand
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length != 1 || args[0].StartsWith('-')) throw new CliException("usage: parley pull hf:OWNER/REPO/FILE.gguf");
        var store = ModelStore.Default();
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.UserAgent.ParseAdd("parley/0.1");
        var clock = Stopwatch.StartNew();
        long lastDraw = 0;
        bool drew = false;
        var progress = new SyncProgress(p =>
        {
            if (clock.ElapsedMilliseconds - lastDraw < 200 && p.Done != p.Total) return;
            lastDraw = clock.ElapsedMilliseconds;
            drew = true;
            stderr.Write($"\r{Bar(p.Done, p.Total)} {p.Done / 1048576.0:F1}{(p.Total is long t ? $"/{t / 1048576.0:F1}" : "")} MiB  {p.Done / 1048576.0 / Math.Max(0.001, clock.Elapsed.TotalSeconds):F1} MiB/s ");
        });
        string path = new ModelDownloader(http, store).PullAsync(args[0], progress).GetAwaiter().GetResult();
        if (drew) stderr.WriteLine();
        stdout.WriteLine($"{ModelStore.IdOf(path)} is in the store: {path}");
        return 0;
    }

    private static string Bar(long done, long? total)
    {
        if (total is not long t || t <= 0) return "[downloading]";
        int filled = (int)(30 * Math.Min(1.0, (double)done / t));
        return $"[{new string('#', filled)}{new string('.', 30 - filled)}] {100.0 * done / t,5:F1}%";
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool and draw out of order).</summary>
    private sealed class SyncProgress(Action<(long Done, long? Total)> report) : IProgress<(long Done, long? Total)>
    {
        public void Report((long Done, long? Total) value) => report(value);
    }
}
