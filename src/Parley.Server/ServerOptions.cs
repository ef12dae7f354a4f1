using Parley.Inference.Serving;

namespace Parley.Server;

/// <summary>How `parley serve` runs: where it listens, what it serves, and the engine's limits.</summary>
public sealed record ServerOptions
{
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>0 picks a free port (tests).</summary>
    public int Port { get; init; } = 8080;
    /// <summary>GGUF files to serve; the first is the default model, loaded at start.</summary>
    public required IReadOnlyList<string> Models { get; init; }
    /// <summary>Engine threads per model; 0 means one per core.</summary>
    public int Threads { get; init; }
    public SchedulerOptions Scheduler { get; init; } = new();
    /// <summary>Jinja source that replaces every served model's own chat template (a missing or broken one).</summary>
    public string? ChatTemplate { get; init; }
    /// <summary>Larger request bodies are refused with 413.</summary>
    public long MaxRequestBodyBytes { get; init; } = 8 * 1024 * 1024;

    /// <summary>Where the SQLite database lives: --data, else PARLEY_DATA, else ~/.parley.</summary>
    public string DataDirectory { get; init; } = DefaultDataDirectory();
    /// <summary>A PostgreSQL connection string or postgres:// URL (--database, PARLEY_DATABASE); null keeps SQLite.</summary>
    public string? Database { get; init; } = DefaultDatabase();
    /// <summary>This process's name in the database: its unfinished answers are marked interrupted when it starts again.</summary>
    public string Node { get; init; } = Environment.MachineName;

    /// <summary>Trust X-Forwarded-For and X-Forwarded-Proto (behind a TLS-terminating proxy or ingress): cookies become Secure and HSTS is sent.</summary>
    public bool BehindProxy { get; init; }

    /// <summary>Sign-in and sign-up attempts per client address per minute.</summary>
    public int AuthAttemptsPerMinute { get; init; } = 10;
    /// <summary>Messages a user may send per minute in the app.</summary>
    public int MessagesPerMinute { get; init; } = 30;
    /// <summary>Answers one user may have streaming at once.</summary>
    public int GenerationsPerUser { get; init; } = 2;

    public static string? DefaultDatabase() => Environment.GetEnvironmentVariable("PARLEY_DATABASE") is { Length: > 0 } d ? d : null;

    public static string DefaultDataDirectory() =>
        Environment.GetEnvironmentVariable("PARLEY_DATA") is { Length: > 0 } dir
            ? dir
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".parley");
}
