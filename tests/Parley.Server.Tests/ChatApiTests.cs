using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Parley.Server.Tests;

/// <summary>/v1 over real HTTP: response shapes, streaming, errors in OpenAI's envelope, cancellation, concurrency.</summary>
[Collection(ServerCollection.Name)]
public sealed class ChatApiTests(ServerFixture server)
{
    private const string Model = ServerFixture.ModelId;

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private static object Chat(string user, int maxTokens, bool stream = false, object? extra = null)
    {
        var body = new JsonObject
        {
            ["model"] = Model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = user }),
            ["max_tokens"] = maxTokens,
            ["temperature"] = 0,
            ["stream"] = stream,
        };
        if (extra is not null)
        {
            foreach (var (k, v) in JsonSerializer.SerializeToNode(extra)!.AsObject()) body[k] = v?.DeepClone();
        }

        return body;
    }

    private async Task<JsonElement> PostOk(string path, object body)
    {
        using var response = await server.Http.PostAsync(path, Json(body));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    private async Task<(HttpStatusCode Status, JsonElement Error, HttpResponseMessage Response)> PostError(string path, HttpContent content)
    {
        var response = await server.Http.PostAsync(path, content);
        string text = await response.Content.ReadAsStringAsync();
        Assert.False(response.IsSuccessStatusCode, text);
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.GetProperty("error"), response);
    }

    /// <summary>The data of every SSE event of a streamed response, in order.</summary>
    private async Task<List<string>> StreamEvents(object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = Json(body) };
        using var response = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/event-stream", response.Content.Headers.ContentType!.ToString());
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var events = new List<string>();
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal)) events.Add(line["data: ".Length..]);
            else Assert.Equal("", line);
        }

        return events;
    }

    private static string StreamedText(IEnumerable<string> events) => string.Concat(events
        .Where(e => e != "[DONE]")
        .Select(e => JsonDocument.Parse(e).RootElement.GetProperty("choices"))
        .Where(c => c.GetArrayLength() > 0)
        .Select(c => c[0].GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : ""));

    [Fact]
    public async Task ChatCompletionHasOpenAisShapeAndEqualsTheEngineAlone()
    {
        var r = await PostOk("v1/chat/completions", Chat("Tell me a story.", 12));
        Assert.StartsWith("chatcmpl-", r.GetProperty("id").GetString());
        Assert.Equal("chat.completion", r.GetProperty("object").GetString());
        Assert.Equal(Model, r.GetProperty("model").GetString());
        Assert.True(r.GetProperty("created").GetInt64() > 1_700_000_000);
        var choice = r.GetProperty("choices")[0];
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal(server.ChatAlone("Tell me a story.", 12), choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        var usage = r.GetProperty("usage");
        Assert.Equal(12, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + 12, usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task StreamingSendsRoleFirstThenDeltasThenFinishUsageAndDone()
    {
        var events = await StreamEvents(Chat("Hello there", 10, stream: true, new { stream_options = new { include_usage = true } }));
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Single(chunks.Select(c => c.GetProperty("id").GetString()).Distinct());
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        var finish = chunks[^2].GetProperty("choices")[0];
        Assert.Equal("length", finish.GetProperty("finish_reason").GetString());
        var usage = chunks[^1];
        Assert.Equal(0, usage.GetProperty("choices").GetArrayLength());
        Assert.Equal(10, usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(server.ChatAlone("Hello there", 10), StreamedText(events));
    }

    [Fact]
    public async Task ContentPartsStopStringsSeedsAndChoices()
    {
        string alone = server.ChatAlone("Parts work", 16);
        var parts = new[] { new { type = "text", text = "Parts" }, new { type = "text", text = "work" } };
        var body = new
        {
            model = Model,
            messages = new object[] { new { role = "user", content = "Parts\nwork" } },
            max_tokens = 16,
            temperature = 0,
        };
        var joined = await PostOk("v1/chat/completions", body with { messages = [new { role = "user", content = parts }] });
        var plain = await PostOk("v1/chat/completions", body);
        Assert.Equal(plain.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(),
            joined.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());

        string stop = alone.Substring(alone.Length / 2, 2);
        var stopped = await PostOk("v1/chat/completions", Chat("Parts work", 16, extra: new { stop = new[] { stop } }));
        var choice = stopped.GetProperty("choices")[0];
        Assert.Equal(alone[..alone.IndexOf(stop, StringComparison.Ordinal)], choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());

        var sampled = new { model = Model, messages = new[] { new { role = "user", content = "Seeds" } }, max_tokens = 12, temperature = 1.0, seed = 1234, n = 3 };
        var a = await PostOk("v1/chat/completions", sampled);
        var b = await PostOk("v1/chat/completions", sampled);
        Assert.Equal(3, a.GetProperty("choices").GetArrayLength());
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(i, a.GetProperty("choices")[i].GetProperty("index").GetInt32());
            Assert.Equal(a.GetProperty("choices")[i].GetProperty("message").GetProperty("content").GetString(),
                b.GetProperty("choices")[i].GetProperty("message").GetProperty("content").GetString());
        }
    }

    [Fact]
    public async Task LogprobsReportTheModelsDistribution()
    {
        var r = await PostOk("v1/chat/completions", Chat("Log me", 5, extra: new { logprobs = true, top_logprobs = 3 }));
        var content = r.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("content");
        Assert.Equal(5, content.GetArrayLength());
        foreach (var entry in content.EnumerateArray())
        {
            var top = entry.GetProperty("top_logprobs");
            Assert.Equal(3, top.GetArrayLength());
            Assert.Equal(entry.GetProperty("token").GetString(), top[0].GetProperty("token").GetString()); // greedy
            Assert.True(entry.GetProperty("logprob").GetDouble() <= 0);
            Assert.True(top[0].GetProperty("logprob").GetDouble() >= top[1].GetProperty("logprob").GetDouble());
            Assert.NotEmpty(entry.GetProperty("bytes").EnumerateArray());
        }
    }

    [Fact]
    public async Task TextCompletionsTakeStringsArraysAndTokenIds()
    {
        var r = await PostOk("v1/completions", new { model = Model, prompt = new[] { "One", "Two" }, max_tokens = 4, temperature = 0, n = 2 });
        Assert.Equal("text_completion", r.GetProperty("object").GetString());
        var choices = r.GetProperty("choices");
        Assert.Equal(4, choices.GetArrayLength());
        Assert.Equal(choices[0].GetProperty("text").GetString(), choices[1].GetProperty("text").GetString()); // greedy twice
        Assert.Equal(16, r.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        var ids = server.Model.Tokenizer.Encode("One", addSpecial: true);
        var byIds = await PostOk("v1/completions", new { model = Model, prompt = ids, max_tokens = 4, temperature = 0 });
        Assert.Equal(choices[0].GetProperty("text").GetString(), byIds.GetProperty("choices")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task ModelsAreListedAndUnknownOnesAre404()
    {
        var list = JsonDocument.Parse(await server.Http.GetStringAsync("v1/models")).RootElement;
        Assert.Equal("list", list.GetProperty("object").GetString());
        var ids = list.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Equal([Model, "tiny-llama-spm-q8_0"], ids);
        var one = JsonDocument.Parse(await server.Http.GetStringAsync($"v1/models/{Model}")).RootElement;
        Assert.Equal("model", one.GetProperty("object").GetString());
        using var missing = await server.Http.GetAsync("v1/models/nope");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("model_not_found", JsonDocument.Parse(await missing.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task ASecondModelLoadsOnFirstUse()
    {
        var r = await PostOk("v1/completions", new { model = "tiny-llama-spm-q8_0", prompt = "Once upon a time", max_tokens = 3, temperature = 0 });
        Assert.Equal("tiny-llama-spm-q8_0", r.GetProperty("model").GetString());
        Assert.Equal(3, r.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task BadRequestsGetOpenAiErrorsWithTheRightStatus()
    {
        var (status, error, _) = await PostError("v1/chat/completions", new StringContent("{\"model\": ", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());

        (status, error, _) = await PostError("v1/chat/completions", Json(new { model = Model, messages = "hi" }));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("messages", error.GetProperty("param").GetString());

        (status, error, _) = await PostError("v1/chat/completions", Json(Chat("x", 4, extra: new { temperature = "hot" })));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("temperature", error.GetProperty("param").GetString());

        (status, error, _) = await PostError("v1/chat/completions", Json(new { model = "gpt-nothing", messages = new[] { new { role = "user", content = "x" } } }));
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());

        (status, error, _) = await PostError("v1/chat/completions", Json(Chat("x", 5000)));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Contains("1024", error.GetProperty("message").GetString());
        Assert.Contains("5000", error.GetProperty("message").GetString());

        (status, error, _) = await PostError("v1/chat/completions", Json(Chat(new string('a', (int)ServerFixture.BodyLimit), 4)));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);

        (status, _, _) = await PostError("v1/chat/completions",
            Json(new { model = Model, messages = new[] { new { role = "user", content = new[] { new { type = "image_url", text = "x" } } } } }));
        Assert.Equal(HttpStatusCode.BadRequest, status);

        using var unknown = await server.Http.GetAsync("v1/embeddingz");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task AClientThatDisconnectsMidStreamFreesItsBlocks()
    {
        var scheduler = server.Model.Scheduler;
        using (var cts = new CancellationTokenSource())
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = Json(Chat("Go on forever", 900, stream: true, new { ignore_eos = true })) };
            using var response = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
            for (int events = 0; events < 5;)
            {
                if ((await reader.ReadLineAsync(cts.Token))!.StartsWith("data: ", StringComparison.Ordinal)) events++;
            }

            Assert.True(scheduler.KvBlocksUsed > 0);
            await cts.CancelAsync();
        }

        for (int i = 0; i < 500 && (scheduler.KvBlocksUsed > 0 || scheduler.Running > 0); i++) await Task.Delay(10);
        Assert.Equal(0, scheduler.KvBlocksUsed);
        Assert.Equal(0, scheduler.Running);
    }

    [Fact]
    public async Task SixteenConcurrentStreamsAreCompleteOrderedAndEqualTheirRunsAlone()
    {
        var prompts = Enumerable.Range(0, 16).Select(i => $"Client {i} says hello number {i * 7}").ToList();
        var expected = prompts.Select(p => server.ChatAlone(p, 20)).ToList();
        var got = await Task.WhenAll(prompts.Select(p => StreamEvents(Chat(p, 20, stream: true))));
        for (int i = 0; i < prompts.Count; i++)
        {
            Assert.Equal("[DONE]", got[i][^1]);
            Assert.Equal(expected[i], StreamedText(got[i]));
        }
    }

    [Fact]
    public async Task HealthReadinessAndMetrics()
    {
        Assert.Contains("ok", await server.Http.GetStringAsync("healthz"));
        Assert.Contains("ready", await server.Http.GetStringAsync("readyz"));
        await PostOk("v1/chat/completions", Chat("Count me", 3));
        string metrics = await server.Http.GetStringAsync("metrics");
        foreach (var name in new[]
                 {
                     "parley_sequences_running", "parley_sequences_waiting", "parley_kv_blocks_used", "parley_kv_blocks_free",
                     "parley_prefix_cache_hits_total", "parley_tokens_generated_total", "parley_tokens_prompt_total",
                     "parley_time_to_first_token_seconds_bucket", "parley_inter_token_latency_seconds_bucket",
                     "parley_step_duration_seconds_bucket", "parley_step_tokens_bucket", "dotnet_gc_collections_total",
                 })
        {
            Assert.Contains(name, metrics);
        }

        Assert.Contains($"model=\"{Model}\"", metrics);
    }
}
