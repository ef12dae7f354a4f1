using System.Numerics;
using System.Runtime.Intrinsics;

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
    private (int Id, float Logit)[] _heap = [];

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
        int n = Truncate(span);
        float max = span[0].Logit;

        // Softmax over what is left, at temperature 1 for the cut-offs (as llama.cpp's top-p and min-p do).
        if (_o.TopP < 1f)
        {
            // Normalized over every candidate that top-k left, sorted or not.
            int pool = _o.TopK > 0 ? Math.Min(_o.TopK, span.Length) : span.Length;
            double total = 0;
            for (int i = 0; i < pool; i++) total += MathF.Exp(span[i].Logit - max);
            double cum = 0;
            for (int i = 0; i < n; i++)
            {
                cum += MathF.Exp(span[i].Logit - max) / total;
                if (cum >= _o.TopP)
                {
                    n = i + 1;
                    break;
                }
            }
        }

        if (_o.MinP > 0f)
        {
            // p_i >= min_p * p_max, i.e. logit_i - max >= ln(min_p); candidates keep their order.
            float floor = max + MathF.Log(_o.MinP);
            int keep = 1;
            for (int i = 1; i < n; i++)
            {
                if (span[i].Logit >= floor) span[keep++] = span[i];
            }

            n = keep;
        }

        double sum = 0;
        for (int i = 0; i < n; i++) sum += _probs[i] = MathF.Exp((span[i].Logit - max) / _o.Temperature);
        double r = _random.NextDouble() * sum;
        for (int i = 0; i < n; i++)
        {
            r -= _probs[i];
            if (r < 0) return span[i].Id;
        }

        return span[n - 1].Id;
    }

    /// <summary>
    /// Puts the most likely token first and, where a cut-off needs order, the candidates sorted best
    /// first; returns how many are candidates. Sorting the whole vocabulary (150k entries) for every
    /// token would cost more than the forward pass of a small model, so: top-k selects k with a heap;
    /// top-p sorts the best 256 and keeps only those when they reach p (else sorts all); without
    /// either only the maximum is moved to the front.
    /// </summary>
    private int Truncate(Span<(int Id, float Logit)> span)
    {
        if (_o.TopK > 0 && _o.TopK < span.Length) return SelectBest(span, _o.TopK);
        if (_o.TopP < 1f)
        {
            int best = SelectBest(span, Math.Min(span.Length, NucleusGuess));
            if (best == span.Length || ReachesTopP(span, best)) return best;
            span.Sort(Better);
            return span.Length;
        }

        int top = 0;
        for (int i = 1; i < span.Length; i++) if (Better(span[i], span[top]) < 0) top = i;
        (span[0], span[top]) = (span[top], span[0]);
        return span.Length;
    }

    private const int NucleusGuess = 256;

    private static int Better((int Id, float Logit) a, (int Id, float Logit) b) => b.Logit.CompareTo(a.Logit) is var c && c != 0 ? c : a.Id.CompareTo(b.Id);

    /// <summary>True when the sorted first <paramref name="sorted"/> candidates hold probability p, so the nucleus lies within them.</summary>
    private bool ReachesTopP(Span<(int Id, float Logit)> span, int sorted)
    {
        float max = span[0].Logit;
        double total = 0, head = 0;
        for (int i = 0; i < span.Length; i++) total += MathF.Exp(span[i].Logit - max);
        for (int i = 0; i < sorted; i++) head += MathF.Exp(span[i].Logit - max);
        return head / total >= _o.TopP;
    }

    /// <summary>Moves the best <paramref name="k"/> candidates, sorted, to the front (a bounded heap, O(n log k)); returns k.</summary>
    private int SelectBest(Span<(int Id, float Logit)> span, int k)
    {
        if (k >= span.Length)
        {
            span.Sort(Better);
            return span.Length;
        }

        if (_heap.Length < k) _heap = new (int, float)[k];
        var heap = _heap.AsSpan(0, k);
        span[..k].CopyTo(heap);
        // Min-heap by quality: the worst of the best k sits at the root.
        for (int i = k / 2 - 1; i >= 0; i--) SiftDown(heap, i);
        for (int i = k; i < span.Length; i++)
        {
            if (Better(span[i], heap[0]) < 0)
            {
                heap[0] = span[i];
                SiftDown(heap, 0);
            }
        }

        heap.Sort(Better);
        heap.CopyTo(span);
        return k;
    }

    private static void SiftDown(Span<(int Id, float Logit)> heap, int i)
    {
        while (true)
        {
            int worst = i, l = 2 * i + 1, r = l + 1;
            if (l < heap.Length && Better(heap[l], heap[worst]) > 0) worst = l;
            if (r < heap.Length && Better(heap[r], heap[worst]) > 0) worst = r;
            if (worst == i) return;
            (heap[i], heap[worst]) = (heap[worst], heap[i]);
            i = worst;
        }
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

    /// <summary>The index of the largest logit, the lowest one on ties; NaNs are passed over.</summary>
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        // Greedy decoding does this over the whole vocabulary for every token of every sequence: one
        // vector pass finds the maximum, a second the first index that holds it.
        int n = logits.Length, i = 0;
        if (n < 2 * Vector256<float>.Count) return ArgMaxScalar(logits);
        var max = Vector256.Create(float.NegativeInfinity);
        var nan = Vector256<float>.Zero;
        for (; i + 8 <= n; i += 8)
        {
            var v = Vector256.Create(logits.Slice(i, 8));
            max = Vector256.Max(max, v);
            nan |= ~Vector256.Equals(v, v);
        }

        if (nan != Vector256<float>.Zero) return ArgMaxScalar(logits);
        float best = float.NegativeInfinity;
        for (int l = 0; l < 8; l++) best = Math.Max(best, max[l]);
        for (; i < n; i++)
        {
            if (float.IsNaN(logits[i])) return ArgMaxScalar(logits);
            best = Math.Max(best, logits[i]);
        }

        var target = Vector256.Create(best);
        for (i = 0; i + 8 <= n; i += 8)
        {
            uint hits = Vector256.Equals(Vector256.Create(logits.Slice(i, 8)), target).ExtractMostSignificantBits();
            if (hits != 0) return i + BitOperations.TrailingZeroCount(hits);
        }

        return logits[i..].IndexOf(best) + i;
    }

    private static int ArgMaxScalar(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best] || float.IsNaN(logits[best])) best = i;
        return best;
    }
}
