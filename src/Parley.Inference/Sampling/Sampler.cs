namespace Parley.Inference.Sampling;

/// <summary>
/// Picks tokens from logits: penalties, then top-k, top-p, min-p and temperature, then a draw from
/// a seeded generator (so a seed reproduces a run), in llama.cpp's default order.
/// </summary>
public sealed class Sampler
{
    private readonly SamplingOptions _o;
    private readonly Random _random;
    private readonly Dictionary<int, int> _counts = [];
    private (int Id, float Logit)[] _candidates = [];
    private float[] _probs = [];

    public Sampler(SamplingOptions options)
    {
        _o = options;
        Seed = options.Seed ?? (ulong)Random.Shared.NextInt64();
        _random = new Random((int)(Seed ^ (Seed >> 32)));
    }

    public ulong Seed { get; }

    /// <summary>Chooses the next token. <paramref name="history"/> is what the penalties look at (prompt and output).</summary>
    public int Sample(ReadOnlySpan<float> logits, IReadOnlyList<int> history)
    {
        bool penalize = _o.RepetitionPenalty != 1f || _o.PresencePenalty != 0f || _o.FrequencyPenalty != 0f;
        if (!penalize && _o.Temperature <= 0) return ArgMax(logits);

        if (_candidates.Length < logits.Length)
        {
            _candidates = new (int, float)[logits.Length];
            _probs = new float[logits.Length];
        }

        for (int i = 0; i < logits.Length; i++) _candidates[i] = (i, logits[i]);
        if (penalize) ApplyPenalties(history);
        if (_o.Temperature <= 0)
        {
            int best = 0;
            for (int i = 1; i < logits.Length; i++) if (_candidates[i].Logit > _candidates[best].Logit) best = i;
            return best;
        }

        var span = _candidates.AsSpan(0, logits.Length);
        span.Sort(static (a, b) => b.Logit.CompareTo(a.Logit) is var c && c != 0 ? c : a.Id.CompareTo(b.Id));
        int n = span.Length;
        if (_o.TopK > 0) n = Math.Min(n, _o.TopK);

        // Softmax over what is left, at temperature 1 for the cut-offs (as llama.cpp's top-p and min-p do).
        float max = span[0].Logit;
        double sum = 0;
        for (int i = 0; i < n; i++) sum += _probs[i] = MathF.Exp(span[i].Logit - max);
        if (_o.TopP < 1f)
        {
            double cum = 0;
            for (int i = 0; i < n; i++)
            {
                cum += _probs[i] / sum;
                if (cum >= _o.TopP)
                {
                    n = i + 1;
                    break;
                }
            }
        }

        if (_o.MinP > 0f)
        {
            int keep = 1;
            while (keep < n && _probs[keep] >= _o.MinP * _probs[0]) keep++;
            n = keep;
        }

        sum = 0;
        for (int i = 0; i < n; i++) sum += _probs[i] = MathF.Exp((span[i].Logit - max) / _o.Temperature);
        double r = _random.NextDouble() * sum;
        for (int i = 0; i < n; i++)
        {
            r -= _probs[i];
            if (r < 0) return span[i].Id;
        }

        return span[n - 1].Id;
    }

    private void ApplyPenalties(IReadOnlyList<int> history)
    {
        _counts.Clear();
        int from = _o.PenaltyLastN < 0 ? 0 : Math.Max(0, history.Count - _o.PenaltyLastN);
        for (int i = from; i < history.Count; i++) _counts[history[i]] = _counts.GetValueOrDefault(history[i]) + 1;
        foreach (var (id, count) in _counts)
        {
            if ((uint)id >= (uint)_candidates.Length) continue;
            ref var c = ref _candidates[id];
            float l = c.Logit;
            if (_o.RepetitionPenalty != 1f) l = l <= 0 ? l * _o.RepetitionPenalty : l / _o.RepetitionPenalty;
            l -= count * _o.FrequencyPenalty + _o.PresencePenalty;
            c.Logit = l;
        }
    }

    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }
}
