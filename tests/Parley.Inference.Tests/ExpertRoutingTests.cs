using Parley.Inference.Models;

namespace Parley.Inference.Tests;

/// <summary>Softmax gating against the same computation in double: the top k in order, weights renormalised.</summary>
public unsafe class ExpertRoutingTests
{
    [Theory]
    [InlineData(8, 2)]
    [InlineData(128, 8)]
    [InlineData(60, 4)]
    public void PicksTheLargestProbabilitiesInOrderAndRenormalises(int experts, int k)
    {
        var random = new Random(experts * 31 + k);
        var logits = Enumerable.Range(0, experts).Select(_ => (float)(random.NextDouble() * 8 - 4)).ToArray();
        double max = logits.Max();
        var p = logits.Select(x => Math.Exp(x - max)).ToArray();
        double total = p.Sum();
        var expected = Enumerable.Range(0, experts).OrderByDescending(i => p[i]).Take(k).ToArray();
        double chosen = expected.Sum(i => p[i] / total);

        var selected = new int[k];
        var weights = new float[k];
        fixed (float* l = logits, w = weights)
        fixed (int* s = selected)
        {
            ExpertRouting.Select(l, experts, k, renormalize: true, s, w);
        }

        Assert.Equal(expected, selected);
        for (int j = 0; j < k; j++) Assert.Equal(p[expected[j]] / total / chosen, weights[j], 1e-6);
        Assert.Equal(1.0, weights.Sum(), 1e-6);
    }

    [Fact]
    public void TiesGoToTheLowerExpertAndWeightsStayUnnormalisedWhenAsked()
    {
        float[] logits = [1, 3, 3, 0, 3];
        var selected = new int[2];
        var weights = new float[2];
        fixed (float* l = logits, w = weights)
        fixed (int* s = selected)
        {
            ExpertRouting.Select(l, logits.Length, 2, renormalize: false, s, w);
        }

        Assert.Equal([1, 2], selected);
        double e3 = Math.Exp(0), sum = Math.Exp(-2) + 3 * e3 + Math.Exp(-3);
        Assert.Equal(e3 / sum, weights[0], 1e-6);
        Assert.Equal(weights[0], weights[1]);
    }
}
