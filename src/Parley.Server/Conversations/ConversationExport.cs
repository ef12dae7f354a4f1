using System.Text;
using System.Text.Json;
using Parley.Server.Data.Entities;
using Parley.Server.OpenAi;

namespace Parley.Server.Conversations;

/// <summary>
/// Conversations as files: JSON with the whole tree (what import reads back, under new ids) and
/// Markdown with the branch on screen.
/// </summary>
public static class ConversationExport
{
    public const int Version = 1;
    public const int MaxMessages = 10_000;

    public static object Json(Conversation c, IEnumerable<Message> messages) => new
    {
        parley = Version,
        title = c.Title,
        model = c.Model,
        systemPrompt = c.SystemPrompt,
        currentLeafId = c.CurrentLeafId,
        createdAt = c.CreatedAt,
        messages = messages.OrderBy(m => m.CreatedAt).ThenBy(m => m.Id).Select(m => new
        {
            id = m.Id,
            parentId = m.ParentId,
            role = m.Role,
            content = m.Content,
            model = m.Model,
            status = Views.Status(m.Status),
            createdAt = m.CreatedAt,
        }),
    };

    public static string Markdown(Conversation c, IReadOnlyList<Message> messages)
    {
        var md = new StringBuilder($"# {c.Title}\n\n");
        if (!string.IsNullOrWhiteSpace(c.SystemPrompt)) md.Append($"> System: {c.SystemPrompt.ReplaceLineEndings("\n> ")}\n\n");
        foreach (var m in ConversationPrompt.Path(messages, c.CurrentLeafId))
        {
            md.Append(m.Role == "user" ? "## You\n\n" : $"## Assistant{(m.Model is null ? "" : $" ({m.Model})")}\n\n");
            md.Append(m.Content.TrimEnd()).Append("\n\n");
        }

        return md.ToString();
    }

    /// <summary>Reads an exported conversation for <paramref name="userId"/>, giving every message a new id.</summary>
    public static (Conversation Conversation, List<Message> Messages) Read(RequestJson j, Guid userId)
    {
        if (j.Get("messages") is not { ValueKind: JsonValueKind.Array } array) throw ApiException.BadRequest("An export holds a 'messages' array.", "messages");
        if (array.GetArrayLength() > MaxMessages) throw ApiException.BadRequest($"An import holds at most {MaxMessages} messages.", "messages");
        var conversation = new Conversation
        {
            UserId = userId,
            Title = ConversationEndpoints.Title(j.String("title")) ?? "Imported chat",
            Model = j.String("model"),
            SystemPrompt = j.String("systemPrompt"),
        };

        var ids = new Dictionary<string, Guid>();
        var parents = new List<string?>();
        var messages = new List<Message>();
        int i = 0;
        var start = DateTime.UtcNow;
        foreach (var e in array.EnumerateArray())
        {
            string param = $"messages[{i}]";
            if (e.ValueKind != JsonValueKind.Object) throw RequestJson.Wrong(param, "an object");
            var f = new RequestJson(e);
            string role = f.String("role") ?? "";
            if (role is not ("user" or "assistant")) throw ApiException.BadRequest($"'{param}.role' must be user or assistant.", $"{param}.role");
            string id = f.String("id") ?? $"#{i}";
            if (!ids.TryAdd(id, Guid.CreateVersion7())) throw ApiException.BadRequest($"'{param}.id' repeats an earlier id.", $"{param}.id");
            parents.Add(f.String("parentId"));
            messages.Add(new Message
            {
                Id = ids[id],
                ConversationId = conversation.Id,
                Role = role,
                Content = f.String("content") ?? "",
                Model = f.String("model"),
                Status = f.String("status") is { } s && Enum.TryParse<MessageStatus>(s, ignoreCase: true, out var status) && status != MessageStatus.Streaming
                    ? status
                    : MessageStatus.Complete,
                // Keeps the exported order, which is the order siblings are shown in.
                CreatedAt = start.AddTicks(i),
                UpdatedAt = start.AddTicks(i),
            });
            i++;
        }

        var position = messages.Select((x, k) => (x.Id, k)).ToDictionary();
        for (int m = 0; m < messages.Count; m++)
        {
            if (parents[m] is not { } parent) continue;
            // A parent must come earlier, which also rules out cycles.
            if (!ids.TryGetValue(parent, out var parentId) || position[parentId] >= m)
            {
                throw ApiException.BadRequest($"'messages[{m}].parentId' names no earlier message.", $"messages[{m}].parentId");
            }

            messages[m].ParentId = parentId;
        }

        conversation.CurrentLeafId = j.String("currentLeafId") is { } leaf && ids.TryGetValue(leaf, out var leafId) ? leafId : messages.LastOrDefault()?.Id;
        return (conversation, messages);
    }
}
