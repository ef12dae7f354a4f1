using Parley.Inference.Sampling;

namespace Parley.Inference.Generation;

public sealed record GenerationOptions
{
    public int MaxTokens { get; init; } = 128;
    public SamplingOptions Sampling { get; init; } = new();
    /// <summary>Generation ends before any of these texts; they are not part of the output.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];
    /// <summary>Stop at the model's end-of-generation tokens (off for benchmarks that need exactly N tokens).</summary>
    public bool StopAtEndOfGeneration { get; init; } = true;
}

public enum FinishReason
{
    /// <summary>An end-of-generation token or a stop string.</summary>
    Stop,
    /// <summary>The token limit or the end of the context.</summary>
    Length,
    /// <summary>The client went away or asked to stop.</summary>
    Cancelled,
}

/// <summary>One step of output: the token, and the text it completed (may be empty while a character or stop string is pending).</summary>
public readonly record struct GeneratedToken(int Id, string Text);
