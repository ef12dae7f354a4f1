using Parley.Inference.Generation;
using Parley.Inference.Sampling;

namespace Parley.Inference.Tests;

public class SamplerTests
{
    private static float[] Logits(int n, int seed)
    {
        var r = new Random(seed);
        var l = new float[n];
        for (int i = 0; i < n; i++) l[i] = (float)(r.NextDouble() * 10);
        return l;
    }

    [Fact]
    public void GreedyAndTopKOnePickTheArgmax()
    {
        var logits = Logits(1000, 1);
        int best = Sampler.ArgMax(logits);
        Assert.Equal(best, new Sampler(SamplingOptions.Greedy).Sample(logits, []));
        Assert.Equal(best, new Sampler(new SamplingOptions { Temperature = 1.5f, TopK = 1, Seed = 3 }).Sample(logits, []));
    }

    [Fact]
    public void ArgMaxTakesTheFirstLargestAndPassesOverNaN()
    {
        var r = new Random(7);
        for (int n = 1; n < 300; n++)
        {
            // Few distinct values, so that the maximum is often tied.
            var logits = Enumerable.Range(0, n).Select(_ => (float)r.Next(-3, 4)).ToArray();
            if (n % 5 == 0) logits[r.Next(n)] = float.NaN;
            if (n % 7 == 0) logits[0] = float.NaN;
            if (n % 11 == 0) logits[r.Next(n)] = float.NegativeInfinity;
            int expected = -1;
            for (int i = 0; i < n; i++)
            {
                if (!float.IsNaN(logits[i]) && (expected < 0 || logits[i] > logits[expected])) expected = i;
            }

            Assert.Equal(Math.Max(expected, 0), Sampler.ArgMax(logits));
        }
    }

    [Fact]
    public void ASeedReproducesARun()
    {
        var logits = Logits(500, 2);
        var o = new SamplingOptions { Temperature = 1.2f, TopK = 0, TopP = 1, MinP = 0, Seed = 1234 };
        int[] Run(SamplingOptions opts)
        {
            var s = new Sampler(opts);
            return Enumerable.Range(0, 50).Select(_ => s.Sample(logits, [])).ToArray();
        }

        Assert.Equal(Run(o), Run(o));
        Assert.NotEqual(Run(o), Run(o with { Seed = 999 }));
        Assert.True(Run(o).Distinct().Count() > 5, "a high temperature should explore");
    }

    [Fact]
    public void TopPAndMinPRestrictTheCandidates()
    {
        var logits = new float[] { 10, 9.9f, 2, 1, 0 };
        var topP = new Sampler(new SamplingOptions { Temperature = 1, TopK = 0, TopP = 0.5f, MinP = 0, Seed = 5 });
        Assert.All(Enumerable.Range(0, 100), _ => Assert.Equal(0, topP.Sample(logits, [])));
        var minP = new Sampler(new SamplingOptions { Temperature = 1, TopK = 0, TopP = 1, MinP = 0.5f, Seed = 5 });
        var picks = Enumerable.Range(0, 200).Select(_ => minP.Sample(logits, [])).ToHashSet();
        Assert.Equal(new HashSet<int> { 0, 1 }, picks);
    }

    [Fact]
    public void PenaltiesDemoteRecentTokens()
    {
        var logits = new float[] { 5, 4.5f, 1 };
        Assert.Equal(1, new Sampler(new SamplingOptions { Temperature = 0, PresencePenalty = 1 }).Sample(logits, [0]));
        Assert.Equal(0, new Sampler(new SamplingOptions { Temperature = 0, PresencePenalty = 0.2f }).Sample(logits, [0]));
        Assert.Equal(1, new Sampler(new SamplingOptions { Temperature = 0, FrequencyPenalty = 0.3f }).Sample(logits, [0, 0]));
        Assert.Equal(1, new Sampler(new SamplingOptions { Temperature = 0, RepetitionPenalty = 1.2f }).Sample(logits, [0]));
    }

    [Fact]
    public void StopStringsAreHeldBackAndCut()
    {
        var f = new StopStringFilter(["STOP", "\n\n"]);
        Assert.Equal("Hello ", f.Push("Hello ST"));
        Assert.Equal("", f.Push("O"));
        Assert.Equal("STOx", f.Push("x"));
        Assert.Equal("ab", f.Push("ab\n\ncd"));
        Assert.True(f.Stopped);
        Assert.Equal("", f.Flush());
        var g = new StopStringFilter(["END"]);
        Assert.Equal("tail ", g.Push("tail EN"));
        Assert.Equal("EN", g.Flush());
    }

    /// <summary>The sampler only partly sorts large vocabularies; its candidate sets must be those a full sort gives.</summary>
    [Theory]
    [InlineData(40, 1f, 0f)]
    [InlineData(0, 0.9f, 0f)]
    [InlineData(0, 0.999999f, 0f)]
    [InlineData(0, 1f, 0.05f)]
    [InlineData(0, 1f, 0f)]
    [InlineData(100, 0.8f, 0.01f)]
    public void LargeVocabulariesSampleOnlyFromTheExactCandidateSet(int topK, float topP, float minP)
    {
        var r = new Random(7);
        var logits = new float[50_000];
        for (int i = 0; i < logits.Length; i++) logits[i] = (float)(r.NextDouble() * r.NextDouble() * 12);
        var order = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).ToArray();
        int n = topK > 0 ? topK : order.Length;
        double max = logits[order[0]], total = order.Take(n).Sum(i => Math.Exp(logits[i] - max)), cum = 0;
        if (topP < 1)
        {
            for (int i = 0; i < n; i++)
            {
                cum += Math.Exp(logits[order[i]] - max) / total;
                if (cum >= topP)
                {
                    n = i + 1;
                    break;
                }
            }
        }

        var allowed = order.Take(n).Where(i => logits[i] - max >= Math.Log(minP > 0 ? minP : 1e-30)).ToHashSet();
        var sampler = new Sampler(new SamplingOptions { Temperature = 1, TopK = topK, TopP = topP, MinP = minP, Seed = 11 });
        var picks = Enumerable.Range(0, 300).Select(_ => sampler.Sample(logits, [])).ToList();
        Assert.All(picks, p => Assert.Contains(p, allowed));
        if (allowed.Count > 1) Assert.True(picks.Distinct().Count() > 1);
    }
}
