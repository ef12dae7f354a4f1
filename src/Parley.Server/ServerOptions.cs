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
}
