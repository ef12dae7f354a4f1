namespace Parley.Server.Data.Entities;

/// <summary>A key for /v1 (Authorization: Bearer). Shown once at creation; stored as its SHA-256 and a short prefix to recognise it by.</summary>
public sealed class ApiKey
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid UserId { get; set; }
    public User? User { get; set; }
    public required string Name { get; set; }
    public required string Prefix { get; set; }
    /// <summary>Hex SHA-256 of the whole key: keys are long random strings, so a fast hash is enough.</summary>
    public required string Hash { get; set; }
    public DateTime CreatedAt { get; set; } = DateTime.UtcNow;
    public DateTime? LastUsedAt { get; set; }
}
