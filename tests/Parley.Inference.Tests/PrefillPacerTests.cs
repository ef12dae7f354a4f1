using Parley.Inference.Serving;

namespace Parley.Inference.Tests;

public class PrefillPacerTests
{
    /// <summary>
    /// Nothing decoding, or nothing measured yet: a prompt takes the whole batch. Once the engine has
    /// shown its speeds, a step with streams decoding gets as many prompt tokens as its prefill rate
    /// fits in the stall budget, never under the smallest chunk nor over the batch.
    /// </summary>
    [Fact]
    public void PromptChunksFitTheStallBudgetWhileStreamsDecode()
    {
        var pacer = new PrefillPacer(0.05);
        Assert.Equal(256, pacer.Budget(decodes: 8, max: 256)); // nothing measured
        pacer.Observe(decodes: 8, prefill: 0, seconds: 0.04);   // eight decode tokens alone: 40 ms
        pacer.Observe(decodes: 8, prefill: 200, seconds: 0.44); // 200 prompt tokens in the other 0.4 s: 500 tokens/s
        Assert.Equal(256, pacer.Budget(decodes: 0, max: 256));
        Assert.Equal(25, pacer.Budget(decodes: 8, max: 256));   // 500 tokens/s × 50 ms
        Assert.Equal(20, pacer.Budget(decodes: 8, max: 20));

        // A slower engine (larger model) gets smaller chunks, down to the smallest.
        var slow = new PrefillPacer(0.05);
        slow.Observe(decodes: 0, prefill: 100, seconds: 1.0);
        Assert.Equal(PrefillPacer.MinChunk, slow.Budget(decodes: 4, max: 256));

        // No budget: only the batch limit.
        var off = new PrefillPacer(0);
        off.Observe(decodes: 0, prefill: 100, seconds: 1.0);
        Assert.Equal(256, off.Budget(decodes: 4, max: 256));
    }

    /// <summary>
    /// A step's fixed costs do not divide by its decode count: two decodes alone took 30 ms and sixteen
    /// 60 ms. The prompt's time in a mixed step of sixteen decodes is what it took beyond the sixteen's
    /// 60 ms, not beyond sixteen times the two's 15 ms per token (which would leave the prompt nearly
    /// free and grow the next chunks past the stall budget).
    /// </summary>
    [Fact]
    public void TheDecodeBaselineIsKeptPerDecodeCount()
    {
        var pacer = new PrefillPacer(0.05);
        pacer.Observe(decodes: 16, prefill: 0, seconds: 0.06);
        pacer.Observe(decodes: 2, prefill: 0, seconds: 0.03);
        pacer.Observe(decodes: 16, prefill: 50, seconds: 0.11); // 50 prompt tokens in 50 ms: 1000 tokens/s
        Assert.Equal(50, pacer.Budget(decodes: 16, max: 256));

        // A count not seen alone takes the nearest one's time, scaled down from a larger count.
        var nearest = new PrefillPacer(0.05);
        nearest.Observe(decodes: 16, prefill: 0, seconds: 0.06);
        nearest.Observe(decodes: 8, prefill: 50, seconds: 0.08); // eight decodes: 30 ms; the prompt 50 ms
        Assert.Equal(50, nearest.Budget(decodes: 8, max: 256));
    }
}
