using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Parley.Inference.Serving;
using Parley.Server.Hosting;

namespace Parley.Server.Tests;

/// <summary>A server with room for one running and one waiting request answers the rest with 429 and Retry-After.</summary>
public sealed class AdmissionTests
{
    [Fact]
    public async Task AFullQueueAnswers429WithRetryAfter()
    {
        var (app, url) = await ServerFixture.StartAsync(new SchedulerOptions { MaxSequences = 1, MaxQueue = 1, KvCacheMegabytes = 16 });
        await using var _ = app;
        using var http = new HttpClient { BaseAddress = url };
        var scheduler = app.Services.GetRequiredService<ModelRegistry>().Get(ServerFixture.ModelId)!.Scheduler;
        StringContent Body(int n, bool stream) => new(JsonSerializer.Serialize(new
        {
            model = ServerFixture.ModelId,
            messages = new[] { new { role = "user", content = "Queue" } },
            max_tokens = n,
            stream,
            ignore_eos = true, // the random-weight model may pick EOS at once; the first request must stay running
        }), Encoding.UTF8, "application/json");

        using var cts = new CancellationTokenSource();
        var first = await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = Body(900, true) },
            HttpCompletionOption.ResponseHeadersRead, cts.Token);
        var reader = new StreamReader(await first.Content.ReadAsStreamAsync(cts.Token));
        await reader.ReadLineAsync(cts.Token); // the role chunk: the first request runs
        // While the first runs, one of these may wait and the rest must be turned away. They are sent together
        // because on a busy machine the first can finish before a lone follower even arrives.
        var others = Enumerable.Range(0, 8).Select(_ => http.PostAsync("v1/chat/completions", Body(4, false))).ToList();
        var answers = await Task.WhenAll(others);
        var refused = answers.Where(a => a.StatusCode == (HttpStatusCode)429).ToList();
        Assert.NotEmpty(refused);
        Assert.All(answers, a => Assert.Contains(a.StatusCode, new[] { HttpStatusCode.OK, (HttpStatusCode)429 }));
        foreach (var answer in refused)
        {
            Assert.Equal("1", answer.Headers.GetValues("Retry-After").Single());
            var error = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
            Assert.Equal("rate_limit_error", error.GetProperty("type").GetString());
        }

        await cts.CancelAsync();
        first.Dispose(); // closes the stream: the server sees the client leave
        for (int i = 0; i < 500 && (scheduler.KvBlocksUsed > 0 || scheduler.Waiting > 0 || scheduler.Running > 0); i++) await Task.Delay(10);
        Assert.Equal(0, scheduler.KvBlocksUsed);
        await app.StopAsync();
    }
}
