namespace Parley.Server.Data.Entities;

/// <summary>A user's preferences; a row exists once they saved any.</summary>
public sealed class UserSettings
{
    public Guid UserId { get; set; }
    public string? DefaultModel { get; set; }
    /// <summary>Custom instructions: the system prompt of conversations that set none.</summary>
    public string? SystemPrompt { get; set; }
    public double? Temperature { get; set; }
    /// <summary>"light", "dark" or "system".</summary>
    public string Theme { get; set; } = "system";
}
