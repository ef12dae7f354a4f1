using System.Buffers;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Parley.Bench;

/// <summary>What one benchmark request measured; Failed requests carry no timings.</summary>
public sealed record RequestSample(bool Failed, double TtftMs, IReadOnlyList<double> ItlMs, int OutputTokens, int PromptTokens);

/// <summary>
/// A closed-loop load generator for an OpenAI-compatible server, in the manner of vLLM's serving
/// benchmark: N clients keep one streaming /v1/completions request each in flight until R requests
/// are done. Prompts are random words, distinct per request and per seed (a run repeated with the
/// same seed would find its prompts in the server's prefix cache); ignore_eos
/// makes every request generate exactly the asked number of tokens.
/// </summary>
public sealed class ServingLoad(HttpClient http, string model, int promptWords, int outputTokens, float temperature, int seed)
{
    private static readonly string[] Words =
    [
        "time", "people", "year", "way", "day", "man", "thing", "woman", "life", "child", "world", "school", "state", "family",
        "student", "group", "country", "problem", "hand", "part", "place", "case", "week", "company", "system", "program",
        "question", "work", "government", "number", "night", "point", "home", "water", "room", "mother", "area", "money",
        "story", "fact", "month", "lot", "right", "study", "book", "eye", "job", "word", "business", "issue", "side", "kind",
    ];

    public async Task<(List<RequestSample> Samples, TimeSpan Duration)> RunAsync(int concurrency, int requests, CancellationToken ct)
    {
        var samples = new List<RequestSample>();
        int next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < requests)
            {
                var sample = await OneAsync(i, ct);
                lock (samples) samples.Add(sample);
            }
        }));
        return (samples, clock.Elapsed);
    }

    /// <summary>
    /// Keeps <paramref name="concurrency"/> requests in flight for <paramref name="duration"/>, with
    /// prompts from index <paramref name="firstIndex"/> on (so none of them is a measured request's
    /// prefix); returns how many were sent.
    /// </summary>
    public async Task<int> WarmUpAsync(int concurrency, TimeSpan duration, int firstIndex, CancellationToken ct)
    {
        int next = firstIndex - 1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (clock.Elapsed < duration) await OneAsync(Interlocked.Increment(ref next), ct);
        }));
        return next - firstIndex + 1;
    }

    private string Prompt(int index)
    {
        var random = new Random(unchecked(seed * 1_000_003 + index));
        var text = new StringBuilder();
        for (int w = 0; w < promptWords; w++) text.Append(w == 0 ? "" : " ").Append(Words[random.Next(Words.Length)]);
        return text.ToString();
    }

    private async Task<RequestSample> OneAsync(int index, CancellationToken ct)
    {
        var body = new
        {
            model,
            prompt = Prompt(index),
            max_tokens = outputTokens,
            temperature,
            ignore_eos = true,
            stream = true,
            stream_options = new { include_usage = true },
        };
        var start = Stopwatch.GetTimestamp();
        byte[] buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions") { Content = JsonContent.Create(body) };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            if (!response.IsSuccessStatusCode) return new RequestSample(true, 0, [], 0, 0);
            await using var stream = await response.Content.ReadAsStreamAsync(ct);
            var counts = new Counts();
            double ttft = -1;
            long last = 0;
            var itl = new List<double>(outputTokens);
            int filled = 0;
            while (true)
            {
                if (filled == buffer.Length) buffer = Grow(buffer);
                int read = await stream.ReadAsync(buffer.AsMemory(filled), ct);
                if (read == 0) return new RequestSample(true, 0, [], 0, 0); // ended without [DONE]
                filled += read;
                long now = Stopwatch.GetTimestamp();
                // Every whole event in the buffer (events end with a blank line, "\n\n" as OpenAI and vLLM
                // send them); a partial one waits for the next read.
                int at = 0, end;
                while ((end = buffer.AsSpan(at, filled - at).IndexOf("\n\n"u8)) >= 0)
                {
                    var kind = Event(buffer.AsMemory(at, end), ref counts);
                    at += end + 2;
                    if (kind == EventKind.Failed) return new RequestSample(true, 0, [], 0, 0);
                    if (kind == EventKind.Done)
                    {
                        return ttft >= 0 ? new RequestSample(false, ttft, itl, counts.Output, counts.Prompt) : new RequestSample(true, 0, [], 0, 0);
                    }

                    if (kind != EventKind.Token) continue;
                    if (ttft < 0) ttft = Stopwatch.GetElapsedTime(start, now).TotalMilliseconds;
                    else itl.Add(Stopwatch.GetElapsedTime(last, now).TotalMilliseconds);
                    last = now;
                }

                buffer.AsSpan(at, filled - at).CopyTo(buffer);
                filled -= at;
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return new RequestSample(true, 0, [], 0, 0);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private enum EventKind { Other, Token, Done, Failed }

    private struct Counts
    {
        public int Output;
        public int Prompt;
    }

    /// <summary>
    /// One server-sent event, read from its bytes (no string per line: the client shares the cores
    /// it measures): a chunk with text is a token; the usage chunk gives the counts.
    /// </summary>
    private static EventKind Event(ReadOnlyMemory<byte> e, ref Counts counts)
    {
        if (!e.Span.StartsWith("data: "u8)) return EventKind.Other;
        var data = e[6..];
        if (data.Span.SequenceEqual("[DONE]"u8)) return EventKind.Done;
        using var doc = JsonDocument.Parse(data);
        var root = doc.RootElement;
        if (root.TryGetProperty("error", out _)) return EventKind.Failed;
        if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            counts.Output = usage.GetProperty("completion_tokens").GetInt32();
            counts.Prompt = usage.GetProperty("prompt_tokens").GetInt32();
        }

        var choices = root.GetProperty("choices");
        return choices.GetArrayLength() > 0 && choices[0].GetProperty("text").GetString() is { Length: > 0 } ? EventKind.Token : EventKind.Other;
    }

    private static byte[] Grow(byte[] buffer)
    {
        byte[] bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
        buffer.CopyTo(bigger, 0);
        ArrayPool<byte>.Shared.Return(buffer);
        return bigger;
    }
}
