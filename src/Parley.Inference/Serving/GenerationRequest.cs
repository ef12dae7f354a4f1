using Parley.Inference.Generation;

namespace Parley.Inference.Serving;

/// <summary>One sequence to generate: the prompt's token ids and how to continue it.</summary>
public sealed record GenerationRequest(IReadOnlyList<int> Prompt, GenerationOptions Options)
{
    /// <summary>Return each chosen token's log-probability.</summary>
    public bool Logprobs { get; init; }
    /// <summary>With <see cref="Logprobs"/>: also the most likely alternatives at each step (0–20).</summary>
    public int TopLogprobs { get; init; }
}

/// <summary>A token and its log-probability under the model (before sampling's adjustments).</summary>
public readonly record struct TokenLogprob(int Id, float Logprob);

/// <summary>
/// One generated token with the text it completed (empty while a character or a possible stop
/// string is held back). Id is -1 for the held-back text released at the end.
/// </summary>
public sealed record StreamedToken(int Id, string Text, TokenLogprob? Logprob = null, TokenLogprob[]? TopLogprobs = null);
