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
        pacer.Observe(decodes: 8, prefill: 0, seconds: 0.08);   // a decode token costs 10 ms
        pacer.Observe(decodes: 8, prefill: 200, seconds: 0.48); // 200 prompt tokens in the other 0.4 s: 500 tokens/s
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
}
