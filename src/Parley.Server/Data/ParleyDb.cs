using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Parley.Server.Data.Entities;

namespace Parley.Server.Data;

/// <summary>
/// Parley's tables. One model, two providers: each has its own subclass so that each carries its own
/// migrations (SQLite and PostgreSQL differ in types and DDL).
/// </summary>
public abstract class ParleyDb(DbContextOptions options) : DbContext(options)
{
    public DbSet<User> Users => Set<User>();
    public DbSet<Session> Sessions => Set<Session>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();
    public DbSet<Conversation> Conversations => Set<Conversation>();
    public DbSet<Message> Messages => Set<Message>();
    public DbSet<UsageRecord> Usage => Set<UsageRecord>();
    public DbSet<UserSettings> Settings => Set<UserSettings>();
    public DbSet<ServerSetting> ServerSettings => Set<ServerSetting>();

    /// <summary>Every time is UTC; SQLite forgets the kind, so it is restored on reading (clients then see the 'Z').</summary>
    protected override void ConfigureConventions(ModelConfigurationBuilder conventions)
    {
        conventions.Properties<DateTime>().HaveConversion<UtcConverter>();
    }

    private sealed class UtcConverter() : ValueConverter<DateTime, DateTime>(v => v, v => DateTime.SpecifyKind(v, DateTimeKind.Utc));

    protected override void OnModelCreating(ModelBuilder model)
    {
        model.Entity<User>(e =>
        {
            e.HasIndex(u => u.NormalizedName).IsUnique();
            e.Property(u => u.UserName).HasMaxLength(64);
            e.Property(u => u.NormalizedName).HasMaxLength(64);
        });
        model.Entity<Session>(e =>
        {
            e.Property(s => s.Id).HasMaxLength(64);
            e.HasOne(s => s.User).WithMany().OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(s => s.UserId);
        });
        model.Entity<ApiKey>(e =>
        {
            e.HasIndex(k => k.Hash).IsUnique();
            e.HasIndex(k => k.UserId);
            e.Property(k => k.Name).HasMaxLength(100);
            e.HasOne(k => k.User).WithMany().OnDelete(DeleteBehavior.Cascade);
        });
        model.Entity<Conversation>(e =>
        {
            e.HasIndex(c => new { c.UserId, c.UpdatedAt });
            e.Property(c => c.Title).HasMaxLength(200);
            e.HasOne(c => c.User).WithMany().OnDelete(DeleteBehavior.Cascade);
            e.HasMany(c => c.Messages).WithOne(m => m.Conversation).OnDelete(DeleteBehavior.Cascade);
        });
        model.Entity<Message>(e =>
        {
            e.HasIndex(m => m.ConversationId);
            e.HasIndex(m => m.Status);
            e.Property(m => m.Role).HasMaxLength(16);
            e.Property(m => m.Status).HasConversion<string>().HasMaxLength(16);
        });
        model.Entity<UsageRecord>(e =>
        {
            e.HasIndex(u => new { u.Day, u.UserId });
            e.HasOne<User>().WithMany().HasForeignKey(u => u.UserId).OnDelete(DeleteBehavior.Cascade);
        });
        model.Entity<UserSettings>(e =>
        {
            e.HasKey(s => s.UserId);
            e.HasOne<User>().WithOne().HasForeignKey<UserSettings>(s => s.UserId).OnDelete(DeleteBehavior.Cascade);
        });
        model.Entity<ServerSetting>(e => e.HasKey(s => s.Key));
    }
}

/// <summary>The embedded default: one file in the data directory.</summary>
public sealed class SqliteParleyDb(DbContextOptions<SqliteParleyDb> options) : ParleyDb(options);

/// <summary>PostgreSQL, for many API nodes sharing one database.</summary>
public sealed class PostgresParleyDb(DbContextOptions<PostgresParleyDb> options) : ParleyDb(options);
