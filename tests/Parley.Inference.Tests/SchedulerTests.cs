using Parley.Inference.Generation;
using Parley.Inference.Models;
using Parley.Inference.Sampling;
using Parley.Inference.Serving;
using Parley.Inference.Tokenization;

namespace Parley.Inference.Tests;

/// <summary>
/// The scheduler on a real model: batched, chunked, preempted and prefix-cached sequences must give
/// exactly what each request gives alone (greedy), and every block must come back.
/// </summary>
public sealed class SchedulerTests : IDisposable
{
    private const string Model = "tiny-llama-spm-q8_0.gguf";
    private readonly ILanguageModel _llm = LanguageModel.Load(TestModels.Tiny(Model), threads: 2);
    private readonly Tokenizer _tokenizer;

    public SchedulerTests() => _tokenizer = Tokenizer.FromGguf(_llm.File);

    public void Dispose() => _llm.Dispose();

    private static readonly string[] Prompts =
    [
        "Once upon a time", "The capital of France is", "In a hole in the ground there lived a hobbit.",
        "1, 2, 3, 4,", "Le café est très chaud", "def fibonacci(n):", "Q: What is the meaning of life?\nA:",
        "It was the best of times, it was the worst of times, it was the age of wisdom",
        "Roses are red", "Call me Ishmael.", "To be, or not to be", "The quick brown fox",
        "Dear diary,", "Breaking news:", "Step 1:", "Ingredients: flour, sugar, eggs, butter and a pinch of salt.",
    ];

    private static GenerationOptions Greedy(int n) => new() { MaxTokens = n, Sampling = SamplingOptions.Greedy, StopAtEndOfGeneration = false };

    private List<int> Encode(string text) => _tokenizer.Encode(text, addSpecial: true);

    private List<int> Alone(List<int> prompt, int n) =>
        new TextGenerator(_llm, _tokenizer).Generate(prompt, Greedy(n)).Where(t => t.Id >= 0).Select(t => t.Id).ToList();

    private static async Task<List<int>> Collect(GenerationStream stream)
    {
        var ids = new List<int>();
        await foreach (var t in stream.Tokens.ReadAllAsync()) if (t.Id >= 0) ids.Add(t.Id);
        return ids;
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (int i = 0; i < 500 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition());
    }

    private async Task AllEqualAlone(SchedulerOptions options, int n, Action<Scheduler>? check = null)
    {
        var prompts = Prompts.Select(Encode).ToList();
        var expected = prompts.Select(p => Alone(p, n)).ToList();
        using var scheduler = new Scheduler(_llm, _tokenizer, options);
        var streams = prompts.Select(p => scheduler.Submit(new GenerationRequest(p, Greedy(n)))).ToList();
        var got = await Task.WhenAll(streams.Select(Collect));
        for (int i = 0; i < prompts.Count; i++)
        {
            Assert.True(expected[i].SequenceEqual(got[i]), $"sequence {i} ('{Prompts[i]}') differs from its run alone");
            Assert.Equal(FinishReason.Length, streams[i].FinishReason);
            Assert.Equal(n, streams[i].CompletionTokens);
        }

        await WaitUntil(() => scheduler.KvBlocksUsed == 0 && scheduler.Running == 0);
        check?.Invoke(scheduler);
    }

    [Fact]
    public Task SixteenConcurrentSequencesEachEqualTheirRunAlone() => AllEqualAlone(new SchedulerOptions { MaxSequences = 16 }, 24);

    [Fact]
    public Task ChunkedPrefillGivesTheSameTokens() => AllEqualAlone(new SchedulerOptions { MaxSequences = 8, MaxBatchTokens = 5 }, 12);

    [Fact]
    public Task PreemptedSequencesAreRecomputedAndStillExact() =>
        // 1 MiB holds 32 blocks of this model: far less than 16 sequences of ~60 tokens need.
        AllEqualAlone(new SchedulerOptions { MaxSequences = 16, KvCacheMegabytes = 1 }, 48, s => Assert.True(s.Preemptions > 0, "expected preemptions"));

    [Fact]
    public async Task PrefixCacheSkipsARepeatedPromptAndGivesTheSameTokens()
    {
        var prompt = Encode(string.Join(" ", Prompts));
        using var scheduler = new Scheduler(_llm, _tokenizer);
        var first = scheduler.Submit(new GenerationRequest(prompt, Greedy(8)));
        var a = await Collect(first);
        Assert.Equal(0, first.CachedPromptTokens);
        var second = scheduler.Submit(new GenerationRequest(prompt, Greedy(8)));
        var b = await Collect(second);
        Assert.Equal((prompt.Count - 1) / PagedKvCache.BlockSize * PagedKvCache.BlockSize, second.CachedPromptTokens);
        Assert.True(second.CachedPromptTokens > 0);
        Assert.Equal(a, b);
        Assert.Equal(Alone(prompt, 8), b);
        Assert.True(scheduler.PrefixHits > 0);
    }

    /// <summary>
    /// The warm-up that parley serve runs before serving: it runs its rounds (prompts that the prefix
    /// cache cannot have seen, batched and alone), returns every block, and leaves the scheduler
    /// giving each request exactly what it gives alone.
    /// </summary>
    [Fact]
    public async Task WarmUpRunsItsRoundsAndLeavesTheSchedulerAsNew()
    {
        using var scheduler = new Scheduler(_llm, _tokenizer);
        int rounds = SchedulerWarmUp.Run(scheduler, _llm.VocabSize, TimeSpan.Zero, maxRounds: 3);
        Assert.Equal(1, rounds); // a zero budget still runs one round
        Assert.Equal(3, SchedulerWarmUp.Run(scheduler, _llm.VocabSize, TimeSpan.FromMinutes(1), maxRounds: 3));
        Assert.Equal(0, scheduler.PrefixHits); // every round's prompts were new
        await WaitUntil(() => scheduler.KvBlocksUsed == 0 && scheduler.Running == 0);
        var prompt = Encode(Prompts[2]);
        Assert.Equal(Alone(prompt, 12), await Collect(scheduler.Submit(new GenerationRequest(prompt, Greedy(12)))));
    }

    [Fact]
    public async Task CancellingMidStreamReturnsEveryBlock()
    {
        using var scheduler = new Scheduler(_llm, _tokenizer);
        using var cts = new CancellationTokenSource();
        var stream = scheduler.Submit(new GenerationRequest(Encode("Once upon a time"), Greedy(1000)), cts.Token);
        var others = Enumerable.Range(0, 3).Select(_ => scheduler.Submit(new GenerationRequest(Encode("Dear diary,"), Greedy(1000)), cts.Token)).ToList();
        int seen = 0;
        await foreach (var _ in stream.Tokens.ReadAllAsync())
        {
            if (++seen == 5) cts.Cancel();
        }

        Assert.Equal(FinishReason.Cancelled, stream.FinishReason);
        Assert.True(stream.CompletionTokens < 900);
        await WaitUntil(() => scheduler.KvBlocksUsed == 0 && scheduler.Running == 0);
        foreach (var o in others)
        {
            await Collect(o);
            Assert.Equal(FinishReason.Cancelled, o.FinishReason);
        }
    }

    [Fact]
    public async Task AFullQueueRefusesNewRequests()
    {
        using var scheduler = new Scheduler(_llm, _tokenizer, new SchedulerOptions { MaxSequences = 1, MaxQueue = 2 });
        using var cts = new CancellationTokenSource();
        var prompt = Encode("Once upon a time");
        var running = scheduler.Submit(new GenerationRequest(prompt, Greedy(1000)), cts.Token);
        await running.Tokens.WaitToReadAsync();
        scheduler.Submit(new GenerationRequest(prompt, Greedy(4)), cts.Token);
        scheduler.Submit(new GenerationRequest(prompt, Greedy(4)), cts.Token);
        Assert.Throws<QueueFullException>(() => scheduler.Submit(new GenerationRequest(prompt, Greedy(4))));
        cts.Cancel();
        await WaitUntil(() => scheduler.KvBlocksUsed == 0 && scheduler.Waiting == 0);
    }

    [Fact]
    public void RequestsThatCanNeverRunAreRejectedAtOnce()
    {
        using var scheduler = new Scheduler(_llm, _tokenizer, new SchedulerOptions { KvCacheTokens = 512 });
        Assert.Equal(512 / PagedKvCache.BlockSize, scheduler.KvBlocksTotal);
        Assert.Throws<ArgumentException>(() => scheduler.Submit(new GenerationRequest([], Greedy(4))));
        Assert.Throws<ArgumentException>(() => scheduler.Submit(new GenerationRequest([1, 999_999], Greedy(4))));
        Assert.Throws<ArgumentException>(() => scheduler.Submit(new GenerationRequest(Enumerable.Repeat(1, 1024).ToList(), Greedy(4))));
        var e = Assert.Throws<ArgumentException>(() => scheduler.Submit(new GenerationRequest(Encode("Hi"), Greedy(900))));
        Assert.Contains("KV blocks", e.Message);
    }

    [Fact]
    public async Task StopStringsAndLogprobsComeThroughTheStream()
    {
        var prompt = Encode("Once upon a time");
        var alone = new TextGenerator(_llm, _tokenizer).Generate(prompt, Greedy(16)).Select(t => t.Text).ToList();
        string full = string.Concat(alone);
        string stop = full.Substring(full.Length / 2, 3);
        using var scheduler = new Scheduler(_llm, _tokenizer);
        var stream = scheduler.Submit(new GenerationRequest(prompt, Greedy(16) with { Stop = [stop] }) { Logprobs = true, TopLogprobs = 3 });
        var tokens = new List<StreamedToken>();
        await foreach (var t in stream.Tokens.ReadAllAsync()) tokens.Add(t);
        string text = string.Concat(tokens.Select(t => t.Text));
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], text);
        Assert.Equal(FinishReason.Stop, stream.FinishReason);
        foreach (var t in tokens.Where(t => t.Id >= 0))
        {
            Assert.NotNull(t.Logprob);
            Assert.Equal(3, t.TopLogprobs!.Length);
            Assert.Equal(t.Id, t.TopLogprobs[0].Id); // greedy picks the most likely token
            Assert.True(t.TopLogprobs[0].Logprob >= t.TopLogprobs[1].Logprob && t.TopLogprobs[1].Logprob >= t.TopLogprobs[2].Logprob);
            Assert.InRange(t.Logprob!.Value.Logprob, -50f, 0f);
        }
    }
}
