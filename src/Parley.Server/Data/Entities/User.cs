namespace Parley.Server.Data.Entities;

/// <summary>An account. The first one registered is the admin.</summary>
public sealed class User
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public required string UserName { get; set; }
    /// <summary>Lower-cased user name: the unique key that login looks up.</summary>
    public required string NormalizedName { get; set; }
    /// <summary>ASP.NET Core Identity's PBKDF2 hash format.</summary>
    public required string PasswordHash { get; set; }
    public bool IsAdmin { get; set; }
    public bool IsDisabled { get; set; }
    public DateTime CreatedAt { get; set; } = DateTime.UtcNow;
    /// <summary>Failed logins since the last good one; enough of them lock the account for a while.</summary>
    public int FailedLogins { get; set; }
    public DateTime? LockedUntil { get; set; }
}
