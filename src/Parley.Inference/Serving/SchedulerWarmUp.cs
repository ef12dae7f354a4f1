using System.Diagnostics;
using Parley.Inference.Generation;
using Parley.Inference.Sampling;

namespace Parley.Inference.Serving;

/// <summary>
/// Synthetic requests run through a new scheduler before it serves, as llama-server's warm-up run
/// does: .NET's tiered JIT first runs the kernels unoptimized and recompiles the hot ones in the
/// background, so a cold server's first answer waited 1.4 s for its first token where a warm one
/// takes 0.17 s (smollm2-135m, compare-serve). Each round sends a batch of prompts (the multi-token
/// tiles), decodes them together (batched decode) and then one alone (single-token tiles). Rounds use
/// fresh random tokens, so the prefix cache does not skip their prompts; their blocks stay in the
/// cache only as free blocks, and the scheduler's token counters include them.
/// </summary>
public static class SchedulerWarmUp
{
    private const int PromptTokens = 32, GeneratedTokens = 16;

    /// <summary>Runs rounds until <paramref name="budget"/> has passed (at least one, at most <paramref name="maxRounds"/>).</summary>
    public static int Run(Scheduler scheduler, int vocabSize, TimeSpan budget, int maxRounds = 12)
    {
        var random = Random.Shared;
        int batch = Math.Min(4, scheduler.MaxSequences);
        int prompt = Math.Min(PromptTokens, scheduler.ContextLength - GeneratedTokens - 1);
        if (prompt < 1) return 0;
        var clock = Stopwatch.StartNew();
        int rounds = 0;
        while (rounds < maxRounds && (rounds == 0 || clock.Elapsed < budget))
        {
            try
            {
                var streams = new List<GenerationStream>();
                for (int s = 0; s < batch; s++) streams.Add(scheduler.Submit(Request(random, vocabSize, prompt, greedy: s % 2 == 0)));
                Drain(streams);
                Drain([scheduler.Submit(Request(random, vocabSize, prompt, greedy: rounds % 2 == 0))]);
            }
            catch (ArgumentException)
            {
                break; // a cache too small for even these requests: the server will say so per request
            }

            rounds++;
        }

        return rounds;
    }

    /// <summary>A prompt of random tokens and <see cref="GeneratedTokens"/> to generate, greedy or with the default sampler (both are served).</summary>
    private static GenerationRequest Request(Random random, int vocabSize, int length, bool greedy)
    {
        var tokens = new int[length];
        for (int i = 0; i < length; i++) tokens[i] = random.Next(vocabSize);
        var sampling = greedy ? SamplingOptions.Greedy : new SamplingOptions();
        return new GenerationRequest(tokens, new GenerationOptions { MaxTokens = GeneratedTokens, Sampling = sampling, StopAtEndOfGeneration = false });
    }

    private static void Drain(List<GenerationStream> streams)
    {
        foreach (var stream in streams)
        {
            var reader = stream.Tokens;
            while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                while (reader.TryRead(out _)) { }
            }
        }
    }
}
