using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Data;

namespace Parley.Server.Tests;

/// <summary>API keys, settings and the admin's pages on a server of their own (the admin disables users here).</summary>
public sealed class AccountFeatureTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private Uri _url = null!;
    private AppClient _alice = null!, _bob = null!;

    public async Task InitializeAsync()
    {
        (_app, _url) = await ServerFixture.StartAsync(configure: o => o with { AuthAttemptsPerMinute = 1000, GenerationsPerUser = 1 });
        _alice = new AppClient(_url);
        await _alice.RegisterAsync("alice");
        _bob = new AppClient(_url);
        await _bob.RegisterAsync("bob");
    }

    public async Task DisposeAsync()
    {
        _alice.Dispose();
        _bob.Dispose();
        await _app.DisposeAsync();
    }

    private ParleyDb Db() => _app.Services.GetRequiredService<Database>().Open();

    private HttpClient KeyClient(string key)
    {
        var http = new HttpClient { BaseAddress = _url };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    private static StringContent Chat(int maxTokens) => new(JsonSerializer.Serialize(new
    {
        model = ServerFixture.ModelId,
        messages = new[] { new { role = "user", content = "Count with me" } },
        max_tokens = maxTokens,
    }), Encoding.UTF8, "application/json");

    [Fact]
    public async Task ApiKeysAreShownOnceStoredHashedAndOpenV1UntilRevoked()
    {
        var created = await _alice.JsonAsync(HttpMethod.Post, "api/keys", new { name = "laptop" });
        string key = created.GetProperty("key").GetString()!;
        string id = created.GetProperty("id").GetString()!;
        Assert.StartsWith("sk-parley-", key);
        var listed = (await _alice.GetJsonAsync("api/keys")).EnumerateArray().Single();
        Assert.False(listed.TryGetProperty("key", out _));
        Assert.StartsWith(listed.GetProperty("prefix").GetString()!, key);
        await using (var db = Db()) Assert.False(await db.ApiKeys.AnyAsync(k => k.Hash == key || k.Prefix == key));

        using var withKey = KeyClient(key);
        using (var models = await withKey.GetAsync("v1/models")) Assert.Equal(HttpStatusCode.OK, models.StatusCode);
        using (var chat = await withKey.PostAsync("v1/chat/completions", Chat(5))) Assert.Equal(HttpStatusCode.OK, chat.StatusCode); // no CSRF: a key is no cookie
        using (var wrong = KeyClient(key + "x"))
        using (var refused = await wrong.GetAsync("v1/models")) Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        // The key's tokens count as alice's usage.
        var usage = (await _alice.GetJsonAsync("api/admin/usage")).EnumerateArray().ToList();
        var row = usage.Single(u => u.GetProperty("username").GetString() == "alice");
        Assert.True(row.GetProperty("completionTokens").GetInt64() > 0);
        Assert.True(row.GetProperty("promptTokens").GetInt64() > 0);

        Assert.Equal(HttpStatusCode.NotFound, (await _bob.StatusAsync(HttpMethod.Delete, $"api/keys/{id}")).Status);
        Assert.Empty((await _bob.GetJsonAsync("api/keys")).EnumerateArray());
        using (var stillWorks = await withKey.GetAsync("v1/models")) Assert.Equal(HttpStatusCode.OK, stillWorks.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _alice.StatusAsync(HttpMethod.Delete, $"api/keys/{id}")).Status);
        using (var revoked = await withKey.GetAsync("v1/models")) Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);
    }

    [Fact]
    public async Task SettingsAreValidatedAndShapeNewAnswers()
    {
        var defaults = await _bob.GetJsonAsync("api/settings");
        Assert.Equal("system", defaults.GetProperty("theme").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, (await _bob.StatusAsync(HttpMethod.Put, "api/settings", new { theme = "neon" })).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await _bob.StatusAsync(HttpMethod.Put, "api/settings", new { temperature = 3 })).Status);
        Assert.Equal((HttpStatusCode.NotFound, "model_not_found"), await _bob.StatusAsync(HttpMethod.Put, "api/settings", new { defaultModel = "gpt-9" }));

        string plain = await _bob.NewConversationAsync();
        var before = AppClient.Last(await _bob.SendAsync(plain, "Hello"), "end").GetProperty("message");

        var saved = await _bob.JsonAsync(HttpMethod.Put, "api/settings", new
        {
            theme = "dark",
            temperature = 0,
            systemPrompt = "Answer every question as a pirate would, with great enthusiasm.",
            defaultModel = "tiny-llama-spm-q8_0",
        });
        Assert.Equal("dark", saved.GetProperty("theme").GetString());
        Assert.Equal(saved.ToString(), (await _bob.GetJsonAsync("api/settings")).ToString());
        Assert.Equal("system", (await _alice.GetJsonAsync("api/settings")).GetProperty("theme").GetString());

        string shaped = await _bob.NewConversationAsync();
        var after = AppClient.Last(await _bob.SendAsync(shaped, "Hello"), "end").GetProperty("message");
        Assert.Equal("tiny-llama-spm-q8_0", after.GetProperty("model").GetString());
        Assert.Equal(ServerFixture.ModelId, before.GetProperty("model").GetString());

        // Greedy (temperature 0) with the custom instructions in the prompt: the same question twice gives the same answer.
        string again = await _bob.NewConversationAsync();
        var repeat = AppClient.Last(await _bob.SendAsync(again, "Hello"), "end").GetProperty("message");
        Assert.Equal(after.GetProperty("content").GetString(), repeat.GetProperty("content").GetString());
        Assert.True(after.GetProperty("promptTokens").GetInt32() > 20);
    }

    [Fact]
    public async Task TheAdminListsUsersDisablesThemAndClosesRegistration()
    {
        Assert.Equal(HttpStatusCode.Forbidden, (await _bob.StatusAsync(HttpMethod.Get, "api/admin/users")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await _bob.StatusAsync(HttpMethod.Get, "api/admin/usage")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await _bob.StatusAsync(HttpMethod.Put, "api/admin/settings", new { registrationOpen = false })).Status);

        var users = (await _alice.GetJsonAsync("api/admin/users")).EnumerateArray().ToList();
        Assert.Equal(["alice", "bob"], users.Select(u => u.GetProperty("username").GetString()));
        string bobId = users[1].GetProperty("id").GetString()!;
        string bobKey = (await _bob.JsonAsync(HttpMethod.Post, "api/keys", new { name = "script" })).GetProperty("key").GetString()!;

        Assert.Equal(HttpStatusCode.BadRequest, (await _alice.StatusAsync(HttpMethod.Patch, $"api/admin/users/{users[0].GetProperty("id").GetString()}", new { isDisabled = true })).Status);
        await _alice.JsonAsync(HttpMethod.Patch, $"api/admin/users/{bobId}", new { isDisabled = true });
        Assert.Equal(HttpStatusCode.Unauthorized, (await _bob.StatusAsync(HttpMethod.Get, "api/auth/me")).Status);
        using (var keyClient = KeyClient(bobKey))
        using (var refused = await keyClient.GetAsync("v1/models")) Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        using var bobAgain = new AppClient(_url);
        await bobAgain.FetchCsrfAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, (await bobAgain.StatusAsync(HttpMethod.Post, "api/auth/login", new { username = "bob", password = "correct horse battery" })).Status);

        await _alice.JsonAsync(HttpMethod.Put, "api/admin/settings", new { registrationOpen = false });
        using var newcomer = new AppClient(_url);
        Assert.False((await newcomer.GetJsonAsync("api/auth/status")).GetProperty("registrationOpen").GetBoolean());
        await newcomer.FetchCsrfAsync();
        Assert.Equal((HttpStatusCode.Forbidden, "registration_closed"),
            await newcomer.StatusAsync(HttpMethod.Post, "api/auth/register", new { username = "carol", password = "correct horse battery" }));
        await _alice.JsonAsync(HttpMethod.Put, "api/admin/settings", new { registrationOpen = true });
        await newcomer.RegisterAsync("carol");
    }

    [Fact]
    public async Task AUserHasAtMostTheirShareOfAnswersStreaming()
    {
        // One answer at a time here; the first may finish before the second arrives (fast model), then try again.
        for (int attempt = 0; ; attempt++)
        {
            string a = await _alice.NewConversationAsync(), b = await _alice.NewConversationAsync();
            using var first = await _alice.SendAsync(HttpMethod.Post, $"api/conversations/{a}/messages", new { content = "Go on forever" });
            var (status, code) = await _alice.StatusAsync(HttpMethod.Post, $"api/conversations/{b}/messages", new { content = "And me" });
            await AppClient.EventsAsync(first);
            if (status == HttpStatusCode.OK && attempt < 4) continue;
            Assert.Equal(((HttpStatusCode)429, "too_many_generations"), (status, code));
            return;
        }
    }
}
