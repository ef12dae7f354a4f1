using Parley.Server.Data.Entities;

namespace Parley.Server.Conversations;

/// <summary>The JSON shapes of conversations and messages in /api (camelCase; statuses lower-case).</summary>
public static class Views
{
    public static object Summary(Conversation c) => new { id = c.Id, title = c.Title, model = c.Model, createdAt = c.CreatedAt, updatedAt = c.UpdatedAt };

    /// <summary>The conversation with its whole tree; the client follows parentId links to show the path to currentLeafId and its siblings.</summary>
    public static object Detail(Conversation c, IEnumerable<Message> messages) => new
    {
        id = c.Id,
        title = c.Title,
        model = c.Model,
        systemPrompt = c.SystemPrompt,
        currentLeafId = c.CurrentLeafId,
        createdAt = c.CreatedAt,
        updatedAt = c.UpdatedAt,
        messages = messages.OrderBy(m => m.CreatedAt).ThenBy(m => m.Id).Select(Message).ToList(),
    };

    public static object Message(Message m) => new
    {
        id = m.Id,
        parentId = m.ParentId,
        role = m.Role,
        content = m.Content,
        model = m.Model,
        status = Status(m.Status),
        error = m.Error,
        promptTokens = m.PromptTokens,
        completionTokens = m.CompletionTokens,
        createdAt = m.CreatedAt,
        updatedAt = m.UpdatedAt,
    };

    public static string Status(MessageStatus s) => s.ToString().ToLowerInvariant();
}
