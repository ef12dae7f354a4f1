using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Parley.Server.Data;

/// <summary>
/// Which database Parley keeps its data in, and how to open it: SQLite in the data directory by
/// default, PostgreSQL when given a connection string. Migrations are applied at start-up.
/// </summary>
public sealed class Database
{
    private readonly Func<ParleyDb> _open;

    private Database(string provider, string description, Func<ParleyDb> open)
    {
        Provider = provider;
        Description = description;
        _open = open;
    }

    /// <summary>"sqlite" or "postgres".</summary>
    public string Provider { get; }

    /// <summary>Where the data is, for logs: the file, or the PostgreSQL host and database (never the password).</summary>
    public string Description { get; }

    /// <summary>A SQLite database in <paramref name="path"/> (created if missing).</summary>
    public static Database Sqlite(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        string connection = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30 }.ToString();
        var options = new DbContextOptionsBuilder<SqliteParleyDb>().UseSqlite(connection).Options;
        return new Database("sqlite", Path.GetFullPath(path), () => new SqliteParleyDb(options));
    }

    /// <summary>PostgreSQL through an Npgsql connection string (Host=…;Database=…;Username=…;Password=…) or a postgres:// URL.</summary>
    public static Database Postgres(string connectionString)
    {
        string connection = connectionString.StartsWith("postgres", StringComparison.OrdinalIgnoreCase) && connectionString.Contains("://")
            ? FromUrl(new Uri(connectionString))
            : connectionString;
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(connection);
        var options = new DbContextOptionsBuilder<PostgresParleyDb>().UseNpgsql(connection).Options;
        return new Database("postgres", $"postgres://{builder.Host}:{builder.Port}/{builder.Database}", () => new PostgresParleyDb(options));
    }

    /// <summary>PostgreSQL when <paramref name="database"/> is a PostgreSQL connection string or URL, else SQLite in the data directory.</summary>
    public static Database Open(string? database, string dataDirectory) =>
        string.IsNullOrEmpty(database) ? Sqlite(Path.Combine(dataDirectory, "parley.db")) : Postgres(database);

    public ParleyDb Open() => _open();

    /// <summary>Creates or upgrades the schema; SQLite also switches to write-ahead logging (readers never wait for the writer).</summary>
    public async Task MigrateAsync(CancellationToken ct = default)
    {
        await using var db = Open();
        await db.Database.MigrateAsync(ct);
        if (Provider == "sqlite") await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", ct);
    }

    private static string FromUrl(Uri url)
    {
        var parts = Uri.UnescapeDataString(url.UserInfo).Split(':', 2);
        var b = new Npgsql.NpgsqlConnectionStringBuilder
        {
            Host = url.Host,
            Port = url.Port > 0 ? url.Port : 5432,
            Database = url.AbsolutePath.Trim('/'),
            Username = parts[0],
        };
        if (parts.Length > 1) b.Password = parts[1];
        return b.ToString();
    }
}
