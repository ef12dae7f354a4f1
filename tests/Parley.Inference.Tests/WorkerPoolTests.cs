using Parley.Inference.Tensors;

namespace Parley.Inference.Tests;

public class WorkerPoolTests
{
    private sealed class Counting(int chunks) : IParallelWork
    {
        public readonly int[] Runs = new int[chunks];
        public readonly int[] By = new int[chunks];
        public Action<int, int>? Before;

        public void Execute(int participant, int chunk)
        {
            Before?.Invoke(participant, chunk);
            Interlocked.Increment(ref Runs[chunk]);
            By[chunk] = participant;
        }
    }

    [Fact]
    public void EveryChunkRunsExactlyOnceAcrossManyJobs()
    {
        using var pool = new WorkerPool(4);
        var random = new Random(3);
        for (int job = 0; job < 20_000; job++)
        {
            int chunks = random.Next(0, 40);
            var work = new Counting(chunks);
            pool.Run(work, chunks);
            Assert.All(work.Runs, n => Assert.Equal(1, n));
        }
    }

    /// <summary>
    /// A thread held up inside one chunk (as when the OS gives its core to another process) must not
    /// hold up the rest: the caller does the chunks that thread would have done.
    /// </summary>
    [Fact]
    public void OthersTakeOverTheChunksOfAStalledThread()
    {
        using var pool = new WorkerPool(2);
        var work = new Counting(64);
        int stalled = -1;
        work.Before = (participant, chunk) =>
        {
            if (participant == 1 && Interlocked.CompareExchange(ref stalled, chunk, -1) == -1) Thread.Sleep(500);
            // The caller waits until the worker is inside its chunk, so that the rest is left to the caller.
            if (participant == 0) SpinWait.SpinUntil(() => Volatile.Read(ref stalled) >= 0, TimeSpan.FromSeconds(10));
        };
        pool.Run(work, 64);
        Assert.All(work.Runs, n => Assert.Equal(1, n));
        Assert.True(stalled >= 0, "the worker never took a chunk");
        Assert.True(work.By.Count(p => p == 0) >= 62, $"the caller ran {work.By.Count(p => p == 0)} of 64 chunks while the worker was stalled");
    }

    /// <summary>
    /// A chunk that throws, on a worker or on the caller, reaches the caller as that exception; the
    /// job's other chunks still run, and the pool goes on serving jobs (its workers are not lost).
    /// </summary>
    [Fact]
    public void AnExceptionInAChunkReachesTheCallerAndThePoolLivesOn()
    {
        using var pool = new WorkerPool(2);
        foreach (int participant in new[] { 0, 1 })
        {
            for (int job = 0; job < 20; job++)
            {
                var work = new Counting(32);
                int thrown = 0;
                work.Before = (p, chunk) =>
                {
                    if (p == participant && Interlocked.CompareExchange(ref thrown, 1, 0) == 0) throw new InvalidOperationException($"chunk {chunk}");
                    // The caller waits for the worker's throw, so that the worker surely takes a chunk.
                    if (participant == 1 && p == 0) SpinWait.SpinUntil(() => Volatile.Read(ref thrown) == 1, TimeSpan.FromSeconds(10));
                };
                var e = Assert.Throws<InvalidOperationException>(() => pool.Run(work, 32));
                Assert.StartsWith("chunk ", e.Message);
                Assert.Equal(31, work.Runs.Sum());
            }
        }

        var after = new Counting(64);
        pool.Run(after, 64);
        Assert.All(after.Runs, n => Assert.Equal(1, n));
    }
}
