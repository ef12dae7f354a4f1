using System.Net;

namespace Parley.Server.Tests;

/// <summary>
/// Every endpoint that touches a user's data, tried by a second user and by an anonymous caller:
/// the second user gets 404 (as for something that does not exist), the anonymous one 401, and the
/// owner finds everything as it was.
/// </summary>
public abstract class IsolationTests<TServer>(TServer server) : IClassFixture<TServer>
    where TServer : AppServerFixture
{
    [Fact]
    public async Task NobodyElseCanReadOrChangeAConversation()
    {
        var alice = server.Alice;
        string id = await alice.NewConversationAsync(new { title = "Alice's secret plans" });
        var events = await alice.SendAsync(id, "my secret ingredient is cardamom");
        string question = events[0].GetProperty("userMessage").GetProperty("id").GetString()!;
        string answer = events[0].GetProperty("assistantMessage").GetProperty("id").GetString()!;
        var before = await alice.GetJsonAsync($"api/conversations/{id}");

        var attempts = new (HttpMethod Method, string Path, object? Body)[]
        {
            (HttpMethod.Get, $"api/conversations/{id}", null),
            (HttpMethod.Patch, $"api/conversations/{id}", new { title = "mine now" }),
            (HttpMethod.Patch, $"api/conversations/{id}", new { currentLeafId = question }),
            (HttpMethod.Get, $"api/conversations/{id}/export", null),
            (HttpMethod.Get, $"api/conversations/{id}/export?format=markdown", null),
            (HttpMethod.Post, $"api/conversations/{id}/messages", new { content = "hello from outside" }),
            (HttpMethod.Post, $"api/conversations/{id}/messages", new { content = "an edit", parentId = (string?)null }),
            (HttpMethod.Post, $"api/conversations/{id}/stop", null),
            (HttpMethod.Post, $"api/messages/{answer}/regenerate", null),
            (HttpMethod.Get, $"api/messages/{answer}/events", null),
            (HttpMethod.Get, $"api/messages/{question}/events", null),
            (HttpMethod.Delete, $"api/conversations/{id}", null),
        };

        using var anonymous = new AppClient(server.Url);
        await anonymous.FetchCsrfAsync();
        foreach (var (method, path, body) in attempts)
        {
            var (status, _) = await server.Bob.StatusAsync(method, path, body);
            Assert.True(status == HttpStatusCode.NotFound, $"bob: {method} {path} answered {(int)status}, expected 404");
            (status, _) = await anonymous.StatusAsync(method, path, body);
            Assert.True(status == HttpStatusCode.Unauthorized, $"anonymous: {method} {path} answered {(int)status}, expected 401");
        }

        var bobs = await server.Bob.GetJsonAsync("api/conversations");
        Assert.DoesNotContain(bobs.GetProperty("items").EnumerateArray(), c => c.GetProperty("id").GetString() == id);
        Assert.Empty((await server.Bob.GetJsonAsync("api/conversations?q=cardamom")).GetProperty("items").EnumerateArray());
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.StatusAsync(HttpMethod.Get, "api/conversations")).Status);

        var after = await alice.GetJsonAsync($"api/conversations/{id}");
        Assert.Equal(before.ToString(), after.ToString());
    }

    [Fact]
    public async Task KeysSettingsAndAdminPagesStayWithTheirOwner()
    {
        var alice = server.Alice;
        var key = await alice.JsonAsync(HttpMethod.Post, "api/keys", new { name = "alice's key" });
        string keyId = key.GetProperty("id").GetString()!;
        await alice.JsonAsync(HttpMethod.Put, "api/settings", new { systemPrompt = "alice's instructions" });

        Assert.Equal(HttpStatusCode.NotFound, (await server.Bob.StatusAsync(HttpMethod.Delete, $"api/keys/{keyId}")).Status);
        Assert.DoesNotContain((await server.Bob.GetJsonAsync("api/keys")).EnumerateArray(), k => k.GetProperty("id").GetString() == keyId);
        Assert.NotEqual("alice's instructions", (await server.Bob.GetJsonAsync("api/settings")).GetProperty("systemPrompt").GetString());
        foreach (var path in new[] { "api/admin/users", "api/admin/usage", "api/admin/settings" })
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await server.Bob.StatusAsync(HttpMethod.Get, path)).Status);
        }

        using var anonymous = new AppClient(server.Url);
        await anonymous.FetchCsrfAsync();
        foreach (var (method, path) in new[] { (HttpMethod.Get, "api/keys"), (HttpMethod.Delete, $"api/keys/{keyId}"), (HttpMethod.Get, "api/settings"),
                     (HttpMethod.Put, "api/settings"), (HttpMethod.Get, "api/admin/users"), (HttpMethod.Get, "api/auth/me"), (HttpMethod.Get, "v1/models"),
                     (HttpMethod.Post, "v1/chat/completions") })
        {
            var (status, _) = await anonymous.StatusAsync(method, path, method == HttpMethod.Get || method == HttpMethod.Delete ? null : new { });
            Assert.True(status == HttpStatusCode.Unauthorized, $"anonymous: {method} {path} answered {(int)status}, expected 401");
        }

        Assert.Equal(keyId, (await alice.GetJsonAsync("api/keys")).EnumerateArray().Single(k => k.GetProperty("id").GetString() == keyId).GetProperty("id").GetString());
        Assert.Equal("alice's instructions", (await alice.GetJsonAsync("api/settings")).GetProperty("systemPrompt").GetString());
    }
}

public sealed class SqliteIsolationTests(AppServerFixture server) : IsolationTests<AppServerFixture>(server);

public sealed class PostgresIsolationTests(PostgresAppServerFixture server) : IsolationTests<PostgresAppServerFixture>(server);
