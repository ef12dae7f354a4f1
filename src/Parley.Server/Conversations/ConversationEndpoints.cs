using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Parley.Server.Accounts;
using Parley.Server.Data;
using Parley.Server.Data.Entities;
using Parley.Server.OpenAi;

namespace Parley.Server.Conversations;

/// <summary>
/// /api/conversations: list (newest first, paged, searched over titles and message text), create,
/// get with the message tree, rename or switch branch (PATCH), delete, export, import. Every query
/// is scoped to the signed-in user: someone else's conversation is 404, exactly like a missing one.
/// </summary>
public static class ConversationEndpoints
{
    public const int MaxPage = 100;
    public const int MaxTitle = 200;

    public static void Map(RouteGroupBuilder api)
    {
        var c = api.MapGroup("/conversations").RequireAuthorization();
        c.MapGet("", List);
        c.MapPost("", Create);
        c.MapPost("/import", Import);
        c.MapGet("/{id:guid}", Get);
        c.MapPatch("/{id:guid}", Update);
        c.MapDelete("/{id:guid}", Delete);
        c.MapGet("/{id:guid}/export", Export);
    }

    /// <summary>The user's conversation, or 404.</summary>
    public static async Task<Conversation> FindAsync(ParleyDb db, HttpContext http, Guid id)
    {
        var userId = http.User.UserId();
        return await db.Conversations.FirstOrDefaultAsync(c => c.Id == id && c.UserId == userId) ?? throw ApiException.NotFound("conversation");
    }

    private static async Task<IResult> List(HttpContext http, ParleyDb db, string? q, int? offset, int? limit)
    {
        var userId = http.User.UserId();
        var query = db.Conversations.Where(c => c.UserId == userId);
        if (!string.IsNullOrWhiteSpace(q))
        {
            string needle = q.Trim().ToLower();
            query = query.Where(c => c.Title.ToLower().Contains(needle) || c.Messages.Any(m => m.Content.ToLower().Contains(needle)));
        }

        int skip = Math.Max(0, offset ?? 0), take = Math.Clamp(limit ?? 50, 1, MaxPage);
        var page = await query.OrderByDescending(c => c.UpdatedAt).ThenByDescending(c => c.Id).Skip(skip).Take(take + 1).ToListAsync();
        return Results.Ok(new { items = page.Take(take).Select(Views.Summary), hasMore = page.Count > take, nextOffset = page.Count > take ? skip + take : (int?)null });
    }

    private static async Task<IResult> Create(HttpContext http, ParleyDb db)
    {
        var j = await RequestJson.ReadOptionalAsync(http.Request);
        var c = new Conversation
        {
            UserId = http.User.UserId(),
            Title = Title(j.String("title")) ?? "New chat",
            Model = j.String("model"),
            SystemPrompt = j.String("systemPrompt"),
        };
        db.Conversations.Add(c);
        await db.SaveChangesAsync();
        return Results.Json(Views.Detail(c, []), statusCode: 201);
    }

    private static async Task<IResult> Get(HttpContext http, ParleyDb db, Guid id)
    {
        var c = await FindAsync(db, http, id);
        return Results.Ok(Views.Detail(c, await db.Messages.Where(m => m.ConversationId == id).ToListAsync()));
    }

    /// <summary>PATCH: title, model, systemPrompt, and currentLeafId (switching branch: any message of the conversation).</summary>
    private static async Task<IResult> Update(HttpContext http, ParleyDb db, Guid id)
    {
        var j = await RequestJson.ReadAsync(http.Request);
        var c = await FindAsync(db, http, id);
        if (j.Get("title") is not null) c.Title = Title(j.String("title")) ?? throw ApiException.BadRequest("A title cannot be empty.", "title");
        if (j.Root.TryGetProperty("model", out _)) c.Model = j.String("model");
        if (j.Root.TryGetProperty("systemPrompt", out _)) c.SystemPrompt = j.String("systemPrompt");
        if (j.String("currentLeafId") is { } leaf)
        {
            if (!Guid.TryParse(leaf, out var leafId) || !await db.Messages.AnyAsync(m => m.Id == leafId && m.ConversationId == id))
            {
                throw ApiException.BadRequest("'currentLeafId' must be a message of this conversation.", "currentLeafId");
            }

            c.CurrentLeafId = leafId;
        }

        await db.SaveChangesAsync();
        return Results.Ok(Views.Detail(c, await db.Messages.Where(m => m.ConversationId == id).ToListAsync()));
    }

    private static async Task<IResult> Delete(HttpContext http, ParleyDb db, Generations generations, Guid id)
    {
        var c = await FindAsync(db, http, id);
        foreach (var g in generations.InConversation(id)) g.Cancel(MessageStatus.Stopped);
        await db.Messages.Where(m => m.ConversationId == id).ExecuteDeleteAsync();
        db.Conversations.Remove(c);
        await db.SaveChangesAsync();
        return Results.NoContent();
    }

    /// <summary>?format=json (default; what import reads) or markdown (the current branch as a document).</summary>
    private static async Task<IResult> Export(HttpContext http, ParleyDb db, Guid id, string? format)
    {
        var c = await FindAsync(db, http, id);
        var messages = await db.Messages.Where(m => m.ConversationId == id).ToListAsync();
        string name = new string(c.Title.Select(ch => char.IsAsciiLetterOrDigit(ch) ? ch : '-').ToArray()).Trim('-');
        if (name.Length == 0) name = "conversation";
        if (format is "markdown" or "md")
        {
            return Results.File(Encoding.UTF8.GetBytes(ConversationExport.Markdown(c, messages)), "text/markdown; charset=utf-8", $"{name}.md");
        }

        if (format is not (null or "json")) throw ApiException.BadRequest("'format' is json or markdown.", "format");
        return Results.File(JsonSerializer.SerializeToUtf8Bytes(ConversationExport.Json(c, messages)), "application/json", $"{name}.json");
    }

    private static async Task<IResult> Import(HttpContext http, ParleyDb db)
    {
        var j = await RequestJson.ReadAsync(http.Request);
        var (conversation, messages) = ConversationExport.Read(j, http.User.UserId());
        db.Conversations.Add(conversation);
        db.Messages.AddRange(messages);
        await db.SaveChangesAsync();
        return Results.Json(Views.Detail(conversation, messages), statusCode: 201);
    }

    /// <summary>A title as given, trimmed to <see cref="MaxTitle"/> characters; null when blank.</summary>
    public static string? Title(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        text = text.Trim();
        return text.Length <= MaxTitle ? text : text[..MaxTitle];
    }
}
