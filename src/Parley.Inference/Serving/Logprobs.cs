namespace Parley.Inference.Serving;

/// <summary>Log-probabilities of the model's distribution (softmax of the raw logits), as OpenAI's API reports them.</summary>
public static class Logprobs
{
    public const int MaxTop = 20;

    /// <summary>The chosen token's log-probability and the <paramref name="top"/> most likely tokens, best first.</summary>
    public static (TokenLogprob Chosen, TokenLogprob[] Top) Of(ReadOnlySpan<float> logits, int chosen, int top)
    {
        float max = float.NegativeInfinity;
        foreach (float l in logits) max = MathF.Max(max, l);
        double sum = 0;
        foreach (float l in logits) sum += Math.Exp(l - max);
        float logZ = max + (float)Math.Log(sum);

        top = Math.Clamp(top, 0, Math.Min(MaxTop, logits.Length));
        var best = new TokenLogprob[top];
        int n = 0;
        for (int i = 0; i < logits.Length && top > 0; i++)
        {
            float l = logits[i];
            if (n == top && l <= best[n - 1].Logprob) continue;
            int at = n < top ? n++ : n - 1;
            while (at > 0 && best[at - 1].Logprob < l)
            {
                best[at] = best[at - 1];
                at--;
            }

            best[at] = new TokenLogprob(i, l);
        }

        for (int i = 0; i < top; i++) best[i] = best[i] with { Logprob = best[i].Logprob - logZ };
        return (new TokenLogprob(chosen, logits[chosen] - logZ), best);
    }
}
