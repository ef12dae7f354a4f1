using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Parley.Cli;
using Parley.Inference.Generation;
using Parley.Inference.Models;
using Parley.Inference.Sampling;
using Parley.Inference.Serving;
using Parley.Inference.Tokenization;

namespace Parley.Commands;

/// <summary>
/// parley bench -m MODEL [-p 512] [-n 128] [-t THREADS] [-r REPS] [--sequences S] [-ctk T] [-ctv T] [--json]: prompt
/// processing (ppN) and token generation (tgN) in tokens/s, mean ± stddev over repetitions after one
/// warm-up, as llama-bench measures them (random tokens, a fresh cache per repetition). With S above 1
/// tgN runs S sequences through the serving scheduler, decoding together (continuous batching), and
/// counts the tokens of all of them: the engine's ceiling for S concurrent streams, without HTTP.
/// </summary>
public static class BenchCommand
{
    public static int Run(string[] args, TextWriter stdout)
    {
        if (args.Length > 0 && args[0] == "serve") return ServeBenchCommand.Run(args[1..], stdout);
        var a = new Arguments(args, new HashSet<string> { "--json" });
        string model = a.String("-m", "--model") ?? throw new CliException("bench needs a model: -m MODEL");
        int nPrompt = a.Int(512, "-p", "--n-prompt");
        int nGen = a.Int(128, "-n", "--n-gen");
        int threads = a.Int(0, "-t", "--threads");
        int reps = a.Int(5, "-r", "--repetitions");
        int sequences = a.Int(1, "--sequences");
        bool json = a.Flag("--json");
        var cacheTypes = CacheTypeArguments.Read(a);
        a.RejectUnknown();
        if (nPrompt < 0 || nGen < 0 || reps < 1 || threads < 0 || sequences < 1)
        {
            throw new CliException("-p and -n must be 0 or more, -r and --sequences at least 1, -t 0 (all cores) or more");
        }

        using var llm = ModelLoader.Load(model, threads);
        if (Math.Max(nPrompt, nGen + 1) > llm.Config.ContextLength)
        {
            throw new CliException($"the model's context holds {llm.Config.ContextLength} tokens; -p {nPrompt} / -n {nGen} do not fit");
        }

        var rows = new List<Row>();
        cacheTypes.Check(llm.Config);
        long kvBytes = KvCache.BytesFor(llm.Config, Math.Max(nPrompt, nGen), cacheTypes);
        if (nPrompt > 0) rows.Add(Measure(llm, model, nPrompt, 0, reps, () => Prompt(llm, nPrompt, cacheTypes)));
        if (nGen > 0 && sequences == 1) rows.Add(Measure(llm, model, 0, nGen, reps, () => Generate(llm, nGen, cacheTypes)));
        if (nGen > 0 && sequences > 1)
        {
            // The paged cache sized for the run (every sequence's prompt token and generated tokens), not the server's default pool.
            int positions = sequences * PagedKvCache.BlocksForPositions(nGen + 1) * PagedKvCache.BlockSize;
            kvBytes = Math.Max(kvBytes, PagedKvCache.BlocksForPositions(positions) * PagedKvCache.BlockBytes(llm.Config, cacheTypes));
            using var scheduler = new Scheduler(llm, Tokenizer.FromGguf(llm.File),
                new SchedulerOptions { MaxSequences = sequences, MaxQueue = sequences, KvCacheTokens = positions, KvCacheTypes = cacheTypes });
            rows.Add(Measure(llm, model, 0, nGen, reps, () => GenerateTogether(scheduler, llm, sequences, nGen), sequences));
        }

        // Peak resident memory against the budget: the file (mapped) plus the largest KV cache plus 100 MiB.
        var memory = new Memory(Process.GetCurrentProcess().PeakWorkingSet64, new FileInfo(model).Length, kvBytes);
        if (json)
        {
            var options = new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
            stdout.WriteLine(JsonSerializer.Serialize(rows.Select(r => r with { PeakRssBytes = memory.PeakRss, KvCacheBytes = memory.KvCache }), options));
            return 0;
        }

        stdout.WriteLine("| model | size | params | threads | test | t/s |");
        stdout.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in rows)
        {
            string test = r.NPrompt > 0 ? $"pp{r.NPrompt}" : r.NSequences > 1 ? $"tg{r.NGen} ×{r.NSequences}" : $"tg{r.NGen}";
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.ModelFilename} | {r.ModelSize / (double)MiB:F2} MiB | {r.ModelNParams / 1e6:F2} M | {r.NThreads} | {test} | {r.AvgTs:F2} ± {r.StddevTs:F2} |"));
        }

        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"peak resident memory {memory.PeakRss / (double)MiB:F1} MiB = file {memory.File / (double)MiB:F1} + KV cache {memory.KvCache / (double)MiB:F1} + {(memory.PeakRss - memory.File - memory.KvCache) / (double)MiB:F1} MiB other"));

        return 0;
    }

    private static void Prompt(ILanguageModel llm, int n, KvCacheTypes types)
    {
        var tokens = RandomTokens(llm, n);
        using var cache = llm.CreateCache(n, types);
        llm.Forward(tokens, 0, cache, new float[llm.VocabSize]);
    }

    private static void Generate(ILanguageModel llm, int n, KvCacheTypes types)
    {
        var tokens = RandomTokens(llm, n);
        using var cache = llm.CreateCache(n, types);
        var logits = new float[llm.VocabSize];
        for (int i = 0; i < n; i++) llm.Forward([tokens[i]], i, cache, logits);
    }

    /// <summary>Sequences of one random token each, every one generating n tokens, all submitted at once.</summary>
    private static void GenerateTogether(Scheduler scheduler, ILanguageModel llm, int sequences, int n)
    {
        var options = new GenerationOptions { MaxTokens = n, Sampling = SamplingOptions.Greedy, StopAtEndOfGeneration = false };
        var streams = Enumerable.Range(0, sequences).Select(i => scheduler.Submit(new GenerationRequest(RandomTokens(llm, 1, seed: i), options))).ToList();
        Task.WaitAll(streams.Select(async s =>
        {
            await foreach (var _ in s.Tokens.ReadAllAsync()) { }
        }));
    }

    private static int[] RandomTokens(ILanguageModel llm, int n, int seed = 42)
    {
        var r = new Random(seed);
        var t = new int[n];
        for (int i = 0; i < n; i++) t[i] = r.Next(llm.VocabSize);
        return t;
    }

    private static Row Measure(ILanguageModel llm, string path, int nPrompt, int nGen, int reps, Action run, int sequences = 1)
    {
        int tokens = nPrompt + nGen * sequences;
        // Warm-up: page-in of the mapping, scratch allocation, and tiered JIT, which needs several
        // calls (and a background compile) before the hot loops run fully optimized.
        var warm = Stopwatch.StartNew();
        for (int w = 0; w < 50 && (w < 3 || warm.Elapsed < TimeSpan.FromSeconds(2)); w++) run();
        var ns = new long[reps];
        var ts = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            run();
            var elapsed = Stopwatch.GetElapsedTime(t0);
            ns[i] = (long)(elapsed.TotalMilliseconds * 1e6);
            ts[i] = tokens / elapsed.TotalSeconds;
        }

        double mean = ts.Average();
        double sd = reps > 1 ? Math.Sqrt(ts.Sum(x => (x - mean) * (x - mean)) / (reps - 1)) : 0;
        long parameters = llm.File.Tensors.Sum(t => t.ElementCount);
        return new Row(Path.GetFileName(path), llm.Config.Architecture, new FileInfo(path).Length, parameters, llm.Threads,
            nPrompt, nGen, (long)ns.Average(), (long)(reps > 1 ? Math.Sqrt(ns.Sum(x => (x - ns.Average()) * (x - ns.Average())) / (reps - 1)) : 0),
            mean, sd, ts, ns, sequences);
    }

    private const long MiB = 1024 * 1024;

    private sealed record Memory(long PeakRss, long File, long KvCache);

    /// <summary>One result, with llama-bench's JSON field names (plus the run's peak resident memory and KV cache size).</summary>
    private sealed record Row(
        string ModelFilename, string ModelType, long ModelSize, long ModelNParams, int NThreads, int NPrompt, int NGen,
        long AvgNs, long StddevNs, double AvgTs, double StddevTs, double[] SamplesTs, long[] SamplesNs, int NSequences)
    {
        public long PeakRssBytes { get; init; }
        public long KvCacheBytes { get; init; }
    }
}
