namespace Parley.Server.Data.Entities;

/// <summary>A signed-in browser. The cookie holds a random token; only its SHA-256 is stored, so a copy of the database signs nobody in.</summary>
public sealed class Session
{
    /// <summary>Hex SHA-256 of the cookie's token.</summary>
    public required string Id { get; set; }
    public Guid UserId { get; set; }
    public User? User { get; set; }
    public DateTime CreatedAt { get; set; } = DateTime.UtcNow;
    public DateTime ExpiresAt { get; set; }
}
