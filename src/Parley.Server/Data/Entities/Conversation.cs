namespace Parley.Server.Data.Entities;

/// <summary>A chat: a tree of messages of which one path, ending at <see cref="CurrentLeafId"/>, is on screen.</summary>
public sealed class Conversation
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid UserId { get; set; }
    public User? User { get; set; }
    public string Title { get; set; } = "New chat";
    /// <summary>The model new answers use unless a message names another.</summary>
    public string? Model { get; set; }
    /// <summary>Per-conversation system prompt; when null the user's custom instructions apply.</summary>
    public string? SystemPrompt { get; set; }
    public Guid? CurrentLeafId { get; set; }
    public DateTime CreatedAt { get; set; } = DateTime.UtcNow;
    public DateTime UpdatedAt { get; set; } = DateTime.UtcNow;
    public List<Message> Messages { get; set; } = [];
}
