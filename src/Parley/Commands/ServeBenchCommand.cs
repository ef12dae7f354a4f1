using System.Globalization;
using System.Text.Json;
using Parley.Bench;
using Parley.Cli;

namespace Parley.Commands;

/// <summary>
/// parley bench serve --url URL [--model ID] [--concurrency 16] [--requests 64] [--prompt-tokens 128]
/// [--output-tokens 128] [--temperature 0] [--seed S] [--warmup SECONDS] [--api-key KEY] [--json]: request throughput, output tokens/s, time to first token and
/// inter-token latency (p50/p90/p99) of a running server, as vLLM's serving benchmark reports them.
/// The load generator usually shares the machine with the server, so it first keeps the same load
/// going for a few seconds, with prompts of its own: otherwise its own JIT, compiling its HTTP and
/// JSON code in the background, takes cores from the server while the clock runs (about 10% of two
/// cores right after start, still 5% after a second of one stream).
/// </summary>
public static class ServeBenchCommand
{
    public static int Run(string[] args, TextWriter stdout)
    {
        var a = new Arguments(args, new HashSet<string> { "--json" });
        string url = a.String("--url") ?? throw new CliException("bench serve needs the server: --url http://127.0.0.1:8080");
        string? model = a.String("--model");
        int concurrency = a.Int(16, "--concurrency", "-c");
        int requests = a.Int(64, "--requests");
        int promptTokens = a.Int(128, "--prompt-tokens");
        int outputTokens = a.Int(128, "--output-tokens");
        float temperature = a.Float(0f, "--temperature");
        int seed = a.Int(Random.Shared.Next(), "--seed");
        float warmup = a.Float(3f, "--warmup");
        bool json = a.Flag("--json");
        // A server with accounts wants an API key (created under Settings → API keys), as OpenAI's clients take it.
        string? key = a.String("--api-key") ?? Environment.GetEnvironmentVariable("OPENAI_API_KEY");
        a.RejectUnknown();
        if (concurrency < 1 || requests < 1 || promptTokens < 1 || outputTokens < 1) throw new CliException("--concurrency, --requests, --prompt-tokens and --output-tokens must be 1 or more");
        if (warmup < 0) throw new CliException("--warmup must be 0 or more");
        if (!Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out var baseUri)) throw new CliException($"not a URL: {url}");

        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromMinutes(30) };
        if (!string.IsNullOrEmpty(key)) http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        try
        {
            model ??= JsonDocument.Parse(http.GetStringAsync("v1/models").GetAwaiter().GetResult()).RootElement.GetProperty("data")[0].GetProperty("id").GetString()!;
        }
        catch (HttpRequestException e)
        {
            throw new CliException($"cannot reach {baseUri}: {e.Message}");
        }

        var load = new ServingLoad(http, model, promptTokens, outputTokens, temperature, seed);
        int warmupRequests = warmup > 0 ? load.WarmUpAsync(concurrency, TimeSpan.FromSeconds(warmup), requests, CancellationToken.None).GetAwaiter().GetResult() : 0;
        var (samples, duration) = load.RunAsync(concurrency, requests, CancellationToken.None).GetAwaiter().GetResult();
        var ok = samples.Where(s => !s.Failed).ToList();
        var ttft = ok.Select(s => s.TtftMs).ToList();
        var itl = ok.SelectMany(s => s.ItlMs).ToList();
        var result = new
        {
            model,
            concurrency,
            requests,
            warmup_s = warmup,
            warmup_requests = warmupRequests,
            seed,
            completed = ok.Count,
            failed = samples.Count - ok.Count,
            duration_s = duration.TotalSeconds,
            mean_prompt_tokens = ok.Count > 0 ? ok.Average(s => s.PromptTokens) : 0,
            request_throughput = ok.Count / duration.TotalSeconds,
            output_tokens_per_second = ok.Sum(s => s.OutputTokens) / duration.TotalSeconds,
            ttft_ms = Percentiles(ttft),
            itl_ms = Percentiles(itl),
        };

        if (json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
            return result.failed == 0 ? 0 : 1;
        }

        var c = CultureInfo.InvariantCulture;
        stdout.WriteLine(string.Create(c, $"model {model}, {concurrency} concurrent, {result.completed}/{requests} completed, {result.failed} failed, {duration.TotalSeconds:F1} s"));
        stdout.WriteLine(string.Create(c, $"  prompt tokens (mean)  {result.mean_prompt_tokens:F0}"));
        stdout.WriteLine(string.Create(c, $"  request throughput    {result.request_throughput:F2} req/s"));
        stdout.WriteLine(string.Create(c, $"  output tokens/s       {result.output_tokens_per_second:F1}"));
        stdout.WriteLine(string.Create(c, $"  TTFT ms  p50 {result.ttft_ms.p50:F1}  p90 {result.ttft_ms.p90:F1}  p99 {result.ttft_ms.p99:F1}"));
        stdout.WriteLine(string.Create(c, $"  ITL ms   p50 {result.itl_ms.p50:F2}  p90 {result.itl_ms.p90:F2}  p99 {result.itl_ms.p99:F2}"));
        return result.failed == 0 ? 0 : 1;
    }

    /// <summary>Nearest-rank percentiles; zeros when there are no samples.</summary>
    private static Percentile Percentiles(List<double> values)
    {
        if (values.Count == 0) return new Percentile(0, 0, 0);
        values.Sort();
        double At(double p) => values[Math.Clamp((int)Math.Ceiling(p * values.Count) - 1, 0, values.Count - 1)];
        return new Percentile(At(0.5), At(0.9), At(0.99));
    }

    private sealed record Percentile(double p50, double p90, double p99);
}
