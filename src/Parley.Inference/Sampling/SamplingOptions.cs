namespace Parley.Inference.Sampling;

/// <summary>How the next token is chosen. Temperature 0 is greedy; the defaults are llama.cpp's.</summary>
public sealed record SamplingOptions
{
    public float Temperature { get; init; } = 0.8f;
    /// <summary>Keep the K most likely tokens; 0 keeps all.</summary>
    public int TopK { get; init; } = 40;
    /// <summary>Keep the smallest set whose probability reaches P; 1 keeps all.</summary>
    public float TopP { get; init; } = 0.95f;
    /// <summary>Drop tokens less likely than MinP × the most likely one; 0 keeps all.</summary>
    public float MinP { get; init; } = 0.05f;
    /// <summary>Divides positive (multiplies negative) logits of recent tokens; 1 is off.</summary>
    public float RepetitionPenalty { get; init; } = 1.0f;
    /// <summary>Subtracted once from the logit of every recent token (OpenAI's presence_penalty).</summary>
    public float PresencePenalty { get; init; }
    /// <summary>Subtracted per occurrence from the logit of recent tokens (OpenAI's frequency_penalty).</summary>
    public float FrequencyPenalty { get; init; }
    /// <summary>How many recent tokens the penalties look at; -1 means all.</summary>
    public int PenaltyLastN { get; init; } = 64;
    /// <summary>Seed of the random generator; null draws one.</summary>
    public ulong? Seed { get; init; }

    public static SamplingOptions Greedy { get; } = new() { Temperature = 0 };
}
