namespace Parley.Inference.Serving;

/// <summary>
/// How many prompt tokens a step may take while streams are decoding, sized by measured time as vLLM's
/// chunked prefill budget is: every running stream waits for the whole step, so a prompt chunk may add
/// at most <see cref="SchedulerOptions.PrefillStallMs"/> to it. The engine's speeds are learned from
/// its own steps (moving averages): the time of a step with d decode tokens and no prompt, kept per d
/// because a step's fixed costs do not divide by d (one decode alone took 7 ms, sixteen 52 ms, on
/// smollm2-135m), and the prefill rate from what a mixed step took beyond its decodes' time. With
/// nothing decoding, a prompt takes the whole batch. <c>maxDecodes</c>: the most decode tokens a step
/// holds (the scheduler's MaxSequences).
/// </summary>
internal sealed class PrefillPacer(double stallSeconds, int maxDecodes = 16)
{
    /// <summary>The smallest chunk, below which per-step overhead would waste more than the stall saves.</summary>
    public const int MinChunk = 16;

    private const double Weight = 0.2;
    private readonly double[] _decodeStep = new double[maxDecodes + 1]; // seconds of a step of d decode tokens alone, by d; 0: not seen
    private double _prefillRate;                                        // prompt tokens per second

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
            if (decodes > 0 && decodes < _decodeStep.Length) _decodeStep[decodes] = Average(_decodeStep[decodes], seconds);
            return;
        }

        // A decode token costs more than a prompt token (its logits, its own attention), but not more
        // than four: a baseline measured in a slower moment must not make the prompt look free.
        double prefillSeconds = Math.Max(seconds - DecodeStep(decodes), seconds * prefill / (prefill + 4.0 * decodes));
        _prefillRate = Average(_prefillRate, prefill / prefillSeconds);
    }

    /// <summary>The learned time of <paramref name="decodes"/> decode tokens alone: the nearest count seen (scaled down from a larger one); 0 if none.</summary>
    private double DecodeStep(int decodes)
    {
        if (decodes == 0) return 0;
        for (int distance = 0; distance < _decodeStep.Length; distance++)
        {
            foreach (int d in (ReadOnlySpan<int>)[decodes - distance, decodes + distance])
            {
                if (d > 0 && d < _decodeStep.Length && _decodeStep[d] > 0) return _decodeStep[d] * Math.Min(1.0, (double)decodes / d);
            }
        }

        return 0;
    }

    private static double Average(double old, double sample) => old <= 0 ? sample : old + Weight * (sample - old);
}
