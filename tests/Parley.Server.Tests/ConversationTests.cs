using System.Net;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;

namespace Parley.Server.Tests;

/// <summary>Conversations as message trees through /api on a real server: send, stream, regenerate, edit, switch, stop, search, export.</summary>
public abstract class ConversationTests<TServer>(TServer server) : IClassFixture<TServer>
    where TServer : AppServerFixture
{
    private AppClient Alice => server.Alice;

    private static string Type(JsonElement e) => e.GetProperty("type").GetString()!;

    private async Task<JsonElement> GetAsync(string conversation) => await Alice.GetJsonAsync($"api/conversations/{conversation}");

    private static List<JsonElement> Messages(JsonElement conversation) => conversation.GetProperty("messages").EnumerateArray().ToList();

    [Fact]
    public async Task AMessageStreamsItsAnswerAndBothAreSaved()
    {
        string id = await Alice.NewConversationAsync();
        var events = await Alice.SendAsync(id, "Tell me about the sea\nand more");
        Assert.Equal("start", Type(events[0]));
        Assert.Equal("end", Type(events[^1]));
        var end = events[^1].GetProperty("message");
        Assert.Equal("complete", end.GetProperty("status").GetString());
        Assert.Equal(AppClient.Text(events), end.GetProperty("content").GetString());
        Assert.True(end.GetProperty("completionTokens").GetInt32() > 0);

        var conversation = await GetAsync(id);
        Assert.Equal("Tell me about the sea", conversation.GetProperty("title").GetString());
        Assert.EndsWith("Z", conversation.GetProperty("updatedAt").GetString()); // UTC, marked so, from either database
        var messages = Messages(conversation);
        Assert.Equal(2, messages.Count);
        Assert.Equal("user", messages[0].GetProperty("role").GetString());
        Assert.Equal(messages[0].GetProperty("id").GetString(), messages[1].GetProperty("parentId").GetString());
        Assert.Equal(end.GetProperty("content").GetString(), messages[1].GetProperty("content").GetString());
        Assert.Equal(messages[1].GetProperty("id").GetString(), conversation.GetProperty("currentLeafId").GetString());

        // The second turn follows the first answer.
        var second = await Alice.SendAsync(id, "And the mountains?");
        var user2 = second[0].GetProperty("userMessage");
        Assert.Equal(messages[1].GetProperty("id").GetString(), user2.GetProperty("parentId").GetString());
        Assert.Equal(4, Messages(await GetAsync(id)).Count);
    }

    [Fact]
    public async Task RegenerateAndEditMakeBranchesThatCanBeSwitched()
    {
        string id = await Alice.NewConversationAsync();
        var first = await Alice.SendAsync(id, "Branch me");
        string question = first[0].GetProperty("userMessage").GetProperty("id").GetString()!;
        string answer1 = first[0].GetProperty("assistantMessage").GetProperty("id").GetString()!;

        using (var response = await Alice.SendAsync(HttpMethod.Post, $"api/messages/{answer1}/regenerate"))
        {
            var again = await AppClient.EventsAsync(response);
            var answer2 = again[0].GetProperty("assistantMessage");
            Assert.Equal(question, answer2.GetProperty("parentId").GetString());
            Assert.NotEqual(answer1, answer2.GetProperty("id").GetString());
            Assert.Equal(answer2.GetProperty("id").GetString(), (await GetAsync(id)).GetProperty("currentLeafId").GetString());
        }

        // Edit: a new first message beside the old one (parentId null), with its own answer.
        var edited = await Alice.SendAsync(id, "Branch me, edited", new { parentId = (string?)null });
        Assert.Equal(JsonValueKind.Null, edited[0].GetProperty("userMessage").GetProperty("parentId").ValueKind);
        var tree = Messages(await GetAsync(id));
        Assert.Equal(5, tree.Count);
        Assert.Equal(2, tree.Count(m => m.GetProperty("parentId").ValueKind == JsonValueKind.Null));
        Assert.Equal(2, tree.Count(m => m.GetProperty("parentId").GetString() == question));

        // Switch back to the first answer.
        var switched = await Alice.JsonAsync(HttpMethod.Patch, $"api/conversations/{id}", new { currentLeafId = answer1 });
        Assert.Equal(answer1, switched.GetProperty("currentLeafId").GetString());
        Assert.Equal(answer1, (await GetAsync(id)).GetProperty("currentLeafId").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, (await Alice.StatusAsync(HttpMethod.Patch, $"api/conversations/{id}", new { currentLeafId = Guid.NewGuid() })).Status);

        // Markdown shows the branch on screen; JSON carries the whole tree and imports as a copy.
        using var md = await Alice.Http.GetAsync($"api/conversations/{id}/export?format=markdown");
        string markdown = await md.Content.ReadAsStringAsync();
        Assert.Contains("## You\n\nBranch me\n", markdown);
        Assert.DoesNotContain("edited", markdown);
        var exported = await Alice.GetJsonAsync($"api/conversations/{id}/export");
        var imported = await Alice.JsonAsync(HttpMethod.Post, "api/conversations/import", exported);
        Assert.NotEqual(id, imported.GetProperty("id").GetString());
        var copy = Messages(imported);
        Assert.Equal(5, copy.Count);
        Assert.Equal(tree.Select(m => m.GetProperty("content").GetString()).Order(), copy.Select(m => m.GetProperty("content").GetString()).Order());
        Assert.Equal(2, copy.Count(m => m.GetProperty("parentId").ValueKind == JsonValueKind.Null));
    }

    [Fact]
    public async Task StopEndsTheAnswerAndKeepsWhatWasWritten()
    {
        // The answer may finish before the stop arrives (the test model is fast); then the test tries again.
        for (int attempt = 0; ; attempt++)
        {
            string id = await Alice.NewConversationAsync();
            using var response = await Alice.SendAsync(HttpMethod.Post, $"api/conversations/{id}/messages", new { content = "Go on forever" });
            var reader = AppClient.EventsAsync(response);
            var stop = await Alice.JsonAsync(HttpMethod.Post, $"api/conversations/{id}/stop");
            var events = await reader;
            var end = AppClient.Last(events, "end").GetProperty("message");
            if (end.GetProperty("status").GetString() == "complete" && attempt < 4) continue;

            Assert.Equal("stopped", end.GetProperty("status").GetString());
            Assert.Equal(AppClient.Text(events), end.GetProperty("content").GetString());
            Assert.Single(stop.GetProperty("stopped").EnumerateArray());
            var saved = Messages(await GetAsync(id))[1];
            Assert.Equal("stopped", saved.GetProperty("status").GetString());
            Assert.Equal(end.GetProperty("content").GetString(), saved.GetProperty("content").GetString());
            return;
        }
    }

    [Fact]
    public async Task AnAnswerGoesOnWhenItsClientLeaves()
    {
        string id = await Alice.NewConversationAsync();
        string answer;
        using (var response = await Alice.SendAsync(HttpMethod.Post, $"api/conversations/{id}/messages", new { content = "Keep going without me" }))
        {
            var start = await AppClient.EventsAsync(response, e => Type(e) == "start");
            answer = start[0].GetProperty("assistantMessage").GetProperty("id").GetString()!;
        }

        // Watching again gives the end, whether the answer is still streaming or done.
        using var watch = await Alice.Http.GetAsync($"api/messages/{answer}/events", HttpCompletionOption.ResponseHeadersRead);
        var end = AppClient.Last(await AppClient.EventsAsync(watch), "end").GetProperty("message");
        Assert.Equal("complete", end.GetProperty("status").GetString());
        Assert.Equal("complete", Messages(await GetAsync(id))[1].GetProperty("status").GetString());
    }

    [Fact]
    public async Task ListIsNewestFirstPagedAndSearchesTitlesAndMessages()
    {
        using var carol = new AppClient(server.Url);
        await carol.RegisterAsync("carol");
        var ids = new List<string>();
        for (int i = 0; i < 3; i++) ids.Add(await carol.NewConversationAsync(new { title = $"Topic {i}" }));
        await carol.SendAsync(ids[0], "What about zanzibar spices?"); // bumps it to the top

        var list = await carol.GetJsonAsync("api/conversations?limit=2");
        var items = list.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("id").GetString()).ToList();
        Assert.Equal([ids[0], ids[2]], items);
        Assert.True(list.GetProperty("hasMore").GetBoolean());
        var rest = await carol.GetJsonAsync($"api/conversations?limit=2&offset={list.GetProperty("nextOffset").GetInt32()}");
        Assert.Equal([ids[1]], rest.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("id").GetString()));

        var found = await carol.GetJsonAsync("api/conversations?q=ZANZIBAR");
        Assert.Equal([ids[0]], found.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("id").GetString()));
        var byTitle = await carol.GetJsonAsync("api/conversations?q=topic 2");
        Assert.Equal([ids[2]], byTitle.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("id").GetString()));

        await carol.JsonAsync(HttpMethod.Patch, $"api/conversations/{ids[1]}", new { title = "Renamed" });
        Assert.Equal("Renamed", (await carol.GetJsonAsync($"api/conversations/{ids[1]}")).GetProperty("title").GetString());
        Assert.Equal(HttpStatusCode.NoContent, (await carol.StatusAsync(HttpMethod.Delete, $"api/conversations/{ids[0]}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await carol.StatusAsync(HttpMethod.Get, $"api/conversations/{ids[0]}")).Status);
        await using var db = server.Db();
        Assert.False(await db.Messages.AnyAsync(m => m.ConversationId == Guid.Parse(ids[0])));
    }
}

public sealed class SqliteConversationTests(AppServerFixture server) : ConversationTests<AppServerFixture>(server);

public sealed class PostgresConversationTests(PostgresAppServerFixture server) : ConversationTests<PostgresAppServerFixture>(server);
