namespace Parley.Server.Data.Entities;

/// <summary>Tokens one generation used, for the admin's usage per user per day.</summary>
public sealed class UsageRecord
{
    public long Id { get; set; }
    public Guid UserId { get; set; }
    public DateOnly Day { get; set; }
    public required string Model { get; set; }
    public int PromptTokens { get; set; }
    public int CompletionTokens { get; set; }
}
