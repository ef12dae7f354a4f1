namespace Parley.Server.Data.Entities;

/// <summary>Where a message is in its life: answers start as Streaming and end in one of the others.</summary>
public enum MessageStatus
{
    Complete,
    Streaming,
    /// <summary>The user pressed stop.</summary>
    Stopped,
    /// <summary>The server died while it streamed (found at the next start).</summary>
    Interrupted,
    Failed,
}

/// <summary>One node of a conversation's tree: a user turn or an answer. Siblings (same parent) are edits or regenerations.</summary>
public sealed class Message
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid ConversationId { get; set; }
    public Conversation? Conversation { get; set; }
    public Guid? ParentId { get; set; }
    /// <summary>"user" or "assistant".</summary>
    public required string Role { get; set; }
    public string Content { get; set; } = "";
    public string? Model { get; set; }
    public MessageStatus Status { get; set; } = MessageStatus.Complete;
    public string? Error { get; set; }
    /// <summary>The server process that streams this answer: a restarted node marks its own leftovers interrupted.</summary>
    public string? Node { get; set; }
    public int PromptTokens { get; set; }
    public int CompletionTokens { get; set; }
    public DateTime CreatedAt { get; set; } = DateTime.UtcNow;
    public DateTime UpdatedAt { get; set; } = DateTime.UtcNow;
}
