using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Parley.Inference.Generation;
using Parley.Inference.Sampling;
using Parley.Inference.Serving;
using Parley.Server.Accounts;
using Parley.Server.Data;
using Parley.Server.Data.Entities;
using Parley.Server.Hosting;
using Parley.Server.OpenAi;
using Parley.Server.Security;

namespace Parley.Server.Conversations;

/// <summary>
/// Sending and answering: POST /api/conversations/{id}/messages (a new user turn, or an edit when its
/// parent already has children), POST /api/messages/{id}/regenerate (a new answer beside the old),
/// POST /api/conversations/{id}/stop, and GET /api/messages/{id}/events (watch an answer still
/// streaming). Answers stream as server-sent events: start, delta…, end (see README).
/// </summary>
public static class MessageEndpoints
{
    public const int MaxContent = 100_000;
    public const float DefaultTemperature = 0.7f;

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/conversations/{id:guid}/messages", Send).RequireAuthorization().RequireRateLimiting(RateLimits.Send);
        api.MapPost("/messages/{id:guid}/regenerate", Regenerate).RequireAuthorization().RequireRateLimiting(RateLimits.Send);
        api.MapPost("/conversations/{id:guid}/stop", Stop).RequireAuthorization();
        api.MapGet("/messages/{id:guid}/events", Watch).RequireAuthorization();
    }

    private static async Task Send(HttpContext http, ParleyDb db, Generations generations, ModelRegistry models, ServerOptions options, Guid id)
    {
        var j = await RequestJson.ReadAsync(http.Request);
        string content = j.RequiredString("content");
        if (string.IsNullOrWhiteSpace(content)) throw ApiException.BadRequest("A message cannot be empty.", "content");
        if (content.Length > MaxContent) throw ApiException.BadRequest($"A message holds at most {MaxContent} characters.", "content");
        var conversation = await ConversationEndpoints.FindAsync(db, http, id);
        var messages = await db.Messages.Where(m => m.ConversationId == id).ToListAsync();

        // parentId: absent = after the branch on screen; null = a new first message; else after that message (an edit when it already has children).
        Guid? parentId = conversation.CurrentLeafId;
        if (j.Root.TryGetProperty("parentId", out var p))
        {
            parentId = p.ValueKind == JsonValueKind.Null ? null
                : p.ValueKind == JsonValueKind.String && Guid.TryParse(p.GetString(), out var g) && messages.Any(m => m.Id == g) ? g
                : throw ApiException.BadRequest("'parentId' must be a message of this conversation, or null.", "parentId");
        }

        if (parentId is Guid parent && messages.First(m => m.Id == parent).Role != "assistant")
        {
            throw ApiException.BadRequest("A user message follows an answer (or nothing).", "parentId");
        }

        var user = new Message { ConversationId = id, ParentId = parentId, Role = "user", Content = content };
        messages.Add(user);
        db.Messages.Add(user);
        if (conversation.Title == "New chat" && parentId is null) conversation.Title = TitleOf(content);
        await AnswerAsync(http, db, generations, models, options, conversation, messages, user, j.String("model"));
    }

    private static async Task Regenerate(HttpContext http, ParleyDb db, Generations generations, ModelRegistry models, ServerOptions options, Guid id)
    {
        var j = await RequestJson.ReadOptionalAsync(http.Request);
        var userId = http.User.UserId();
        var old = await db.Messages.Include(m => m.Conversation).FirstOrDefaultAsync(m => m.Id == id && m.Conversation!.UserId == userId)
            ?? throw ApiException.NotFound("message");
        if (old.Role != "assistant" || old.ParentId is null) throw ApiException.BadRequest("Only an answer can be regenerated.", "id");
        var conversation = old.Conversation!;
        var messages = await db.Messages.Where(m => m.ConversationId == conversation.Id).ToListAsync();
        var question = messages.First(m => m.Id == old.ParentId);
        await AnswerAsync(http, db, generations, models, options, conversation, messages, question, j.String("model") ?? old.Model);
    }

    /// <summary>
    /// Creates the answer (status streaming) after <paramref name="question"/>, commits it with
    /// everything before it, starts the generation and streams it to this client.
    /// </summary>
    private static async Task AnswerAsync(HttpContext http, ParleyDb db, Generations generations, ModelRegistry models, ServerOptions options,
        Conversation conversation, List<Message> messages, Message question, string? requestedModel)
    {
        var userId = http.User.UserId();
        var settings = await db.Settings.FindAsync(userId);
        string modelId = requestedModel ?? conversation.Model ?? settings?.DefaultModel ?? models.DefaultId;
        if (!models.Contains(modelId)) modelId = requestedModel is null ? models.DefaultId : throw ApiException.ModelNotFound(modelId);
        if (generations.RunningFor(userId) >= options.GenerationsPerUser)
        {
            throw new ApiException(429, $"You already have {options.GenerationsPerUser} answers streaming; wait for one or stop it.", "rate_limit_error", code: "too_many_generations");
        }

        var model = models.Get(modelId)!;
        var (prompt, maxTokens) = ConversationPrompt.Build(model, ConversationPrompt.Path(messages, question.Id), conversation.SystemPrompt ?? settings?.SystemPrompt);
        var answer = new Message
        {
            ConversationId = conversation.Id,
            ParentId = question.Id,
            Role = "assistant",
            Model = modelId,
            Status = MessageStatus.Streaming,
            Node = options.Node,
        };
        db.Messages.Add(answer);
        conversation.CurrentLeafId = answer.Id;
        conversation.Model = modelId;
        conversation.UpdatedAt = DateTime.UtcNow;
        await db.SaveChangesAsync(CancellationToken.None);

        var request = new GenerationRequest(prompt, new GenerationOptions
        {
            MaxTokens = maxTokens,
            Sampling = new SamplingOptions { Temperature = (float)(settings?.Temperature ?? DefaultTemperature), TopP = 0.95f },
        });
        Generation generation;
        try
        {
            generation = generations.Start(answer, userId, model, request);
        }
        catch (QueueFullException e)
        {
            answer.Status = MessageStatus.Failed;
            answer.Error = e.Message;
            await db.SaveChangesAsync(CancellationToken.None);
            throw;
        }

        var sse = new SseWriter(http.Response);
        sse.Start();
        await sse.WriteAsync(new { type = "start", conversation = Views.Summary(conversation), userMessage = Views.Message(question), assistantMessage = Views.Message(answer) }, http.RequestAborted);
        await StreamAsync(sse, generation, http.RequestAborted);
    }

    /// <summary>Relays an answer's events until it ends or the client leaves (the answer goes on without it).</summary>
    private static async Task StreamAsync(SseWriter sse, Generation generation, CancellationToken ct)
    {
        try
        {
            await foreach (var e in generation.Watch().ReadAllAsync(ct))
            {
                if (e.Text is not null) await sse.WriteAsync(new { type = "delta", messageId = generation.Message.Id, text = e.Text }, ct);
                if (e.Final is not null) await sse.WriteAsync(new { type = "end", message = Views.Message(e.Final) }, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private static async Task<IResult> Stop(HttpContext http, ParleyDb db, Generations generations, Guid id)
    {
        await ConversationEndpoints.FindAsync(db, http, id);
        var running = generations.InConversation(id);
        foreach (var g in running) g.Cancel(MessageStatus.Stopped);
        await Task.WhenAll(running.Select(g => g.Completion));
        return Results.Ok(new { stopped = running.Select(g => g.Message.Id) });
    }

    /// <summary>An answer's events: the text so far, then the rest as it streams; a finished answer sends its end at once.</summary>
    private static async Task Watch(HttpContext http, ParleyDb db, Generations generations, Guid id)
    {
        var userId = http.User.UserId();
        var message = await db.Messages.FirstOrDefaultAsync(m => m.Id == id && m.Conversation!.UserId == userId) ?? throw ApiException.NotFound("message");
        var sse = new SseWriter(http.Response);
        sse.Start();
        if (generations.Find(id) is { } generation)
        {
            await StreamAsync(sse, generation, http.RequestAborted);
            return;
        }

        await sse.WriteAsync(new { type = "end", message = Views.Message(message) }, http.RequestAborted);
    }

    /// <summary>A title from the first message: its first line, cut at a word near 60 characters.</summary>
    public static string TitleOf(string content)
    {
        string line = content.Trim().Split('\n')[0].Trim();
        if (line.Length <= 60) return line.Length > 0 ? line : "New chat";
        int cut = line.LastIndexOf(' ', 60);
        return (cut > 20 ? line[..cut] : line[..60]) + "…";
    }
}
