namespace Parley.Inference.Serving;

/// <summary>
/// How many prompt tokens a step may take while streams are decoding, sized by measured time as vLLM's
/// chunked prefill budget is: every running stream waits for the whole step, so a prompt chunk may add
/// at most <see cref="SchedulerOptions.PrefillStallMs"/> to it. The engine's speeds are learned from
/// its own steps (moving averages): a decode token's cost from steps without prompt tokens, the prefill
/// rate from the rest of each mixed step's time. With nothing decoding, a prompt takes the whole batch.
/// </summary>
internal sealed class PrefillPacer(double stallSeconds)
{
    /// <summary>The smallest chunk, below which per-step overhead would waste more than the stall saves.</summary>
    public const int MinChunk = 16;

    private const double Weight = 0.2;
    private double _decodeSeconds;   // per decode token
    private double _prefillRate;     // prompt tokens per second

    /// <summary>Prompt tokens allowed in a step with <paramref name="decodes"/> decode tokens, of at most <paramref name="max"/>.</summary>
    public int Budget(int decodes, int max)
    {
        if (decodes == 0 || stallSeconds <= 0 || _prefillRate <= 0) return max;
        return Math.Clamp((int)(_prefillRate * stallSeconds), Math.Min(MinChunk, max), max);
    }

    /// <summary>Learns from a step of <paramref name="decodes"/> decode and <paramref name="prefill"/> prompt tokens that took <paramref name="seconds"/>.</summary>
    public void Observe(int decodes, int prefill, double seconds)
    {
        if (prefill == 0)
        {
            if (decodes > 0) _decodeSeconds = Average(_decodeSeconds, seconds / decodes);
            return;
        }

        double prefillSeconds = Math.Max(seconds - decodes * _decodeSeconds, seconds / 4);
        _prefillRate = Average(_prefillRate, prefill / prefillSeconds);
    }

    private static double Average(double old, double sample) => old <= 0 ? sample : old + Weight * (sample - old);
}
