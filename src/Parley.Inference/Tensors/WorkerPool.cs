using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace Parley.Inference.Tensors;

/// <summary>Work that a <see cref="WorkerPool"/> splits into chunks that can run in any order on any thread.</summary>
public interface IParallelWork
{
    /// <param name="participant">0 for the calling thread, 1.. for workers: an index for per-thread scratch.</param>
    /// <param name="chunk">Which chunk to do, 0 to the count given to <see cref="WorkerPool.Run"/>.</param>
    void Execute(int participant, int chunk);
}

/// <summary>
/// A persistent pool of threads that run one piece of work at a time, with the calling thread as
/// participant 0. Each participant starts on its own share of the chunks (the same rows every time,
/// which keeps their weights in its core's caches), and when done takes chunks still unclaimed in
/// the others' shares: so when the OS lends a core to another thread (a server's HTTP threads, its
/// clients), the others cover for it instead of waiting for it. On a machine with as many busy
/// threads as cores a fixed split stalls every product for a scheduler time slice.
/// Workers spin briefly between jobs (a decode step issues dozens of products a millisecond
/// apart), then sleep so an idle server costs nothing. No allocation per job. A chunk that throws
/// leaves the pool whole: the job's other chunks still run, and <see cref="Run"/> rethrows the first
/// exception on the caller's thread.
/// </summary>
public sealed class WorkerPool : IDisposable
{
    /// <summary>The most chunks one job may have.</summary>
    public const int MaxChunks = (1 << FieldBits) - 1;

    private const int SpinIterations = 20_000;
    private const int FieldBits = 20;
    private const long FieldMask = MaxChunks;
    private const long GenerationMask = (1L << (64 - 2 * FieldBits)) - 1;

    private readonly Thread[] _threads;
    private readonly object _lock = new();
    // Per participant, one word says all that is needed to claim a chunk of its share: the job's
    // generation (top 24 bits), the share's end and its next unclaimed chunk (20 bits each). Claims,
    // by the owner or by another participant, are compare-and-swaps on it, so a worker that wakes
    // late, or reads while the next job is being set up, can never claim a chunk of a job other than
    // the one it read, nor one past a share's end. Each word, and the done count, has a cache line of its own.
    private readonly PaddedCounter[] _shares;
    private PaddedCounter _done;
    private IParallelWork? _work;
    private ExceptionDispatchInfo? _failure;
    private long _generation;
    private int _sleepers;
    private volatile bool _disposed;

    public WorkerPool(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Threads = threads;
        _shares = new PaddedCounter[threads];
        _threads = new Thread[threads - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            int index = i + 1;
            _threads[i] = new Thread(() => WorkerLoop(index)) { IsBackground = true, Name = $"parley-worker-{index}" };
            _threads[i].Start();
        }
    }

    public int Threads { get; }

    /// <summary>Runs chunks 0..<paramref name="chunks"/>-1 of <paramref name="work"/> and returns when all have finished.</summary>
    public void Run(IParallelWork work, int chunks)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(chunks, MaxChunks);
        if (Threads == 1 || chunks <= 1)
        {
            for (int c = 0; c < chunks; c++) work.Execute(0, c);
            return;
        }

        _work = work;
        _done.Value = 0;
        _generation = (_generation + 1) & GenerationMask;
        for (int p = 0; p < Threads; p++)
        {
            long start = (long)chunks * p / Threads, end = (long)chunks * (p + 1) / Threads;
            Volatile.Write(ref _shares[p].Value, _generation << (2 * FieldBits) | end << FieldBits | start);
        }

        // The shares must be visible before the sleepers are read, or a worker going to sleep could miss them.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _sleepers) > 0)
        {
            lock (_lock) Monitor.PulseAll(_lock);
        }

        Drain(0, _generation, work);
        var spin = new SpinWait();
        while (Volatile.Read(ref _done.Value) != chunks) spin.SpinOnce(-1);
        _work = null;
        var failure = Interlocked.Exchange(ref _failure, null);
        failure?.Throw();
    }

    private static long Generation(long share) => (long)((ulong)share >> (2 * FieldBits));

    /// <summary>Claims and runs chunks of job <paramref name="generation"/>, its own share first, then the others', then counts them done.</summary>
    private void Drain(int participant, long generation, IParallelWork work)
    {
        int ran = 0;
        for (int i = 0; i < Threads; i++)
        {
            ref long share = ref _shares[(participant + i) % Threads].Value;
            while (true)
            {
                long s = Volatile.Read(ref share);
                int next = (int)(s & FieldMask), end = (int)((s >> FieldBits) & FieldMask);
                if (Generation(s) != generation || next >= end) break;
                if (Interlocked.CompareExchange(ref share, s + 1, s) != s) continue;
                try
                {
                    work.Execute(participant, next);
                }
                catch (Exception e)
                {
                    // Counted done all the same, so the caller never waits for it; the first failure is the one reported.
                    Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
                }

                ran++;
            }
        }

        if (ran > 0) Interlocked.Add(ref _done.Value, ran);
    }

    private void WorkerLoop(int index)
    {
        ref long own = ref _shares[index].Value;
        long seen = 0;
        while (true)
        {
            int spins = 0;
            while (Generation(Volatile.Read(ref own)) == seen && !_disposed)
            {
                if (spins++ < SpinIterations)
                {
                    if ((spins & 63) == 0) Thread.Yield();
                    else Thread.SpinWait(20);
                    continue;
                }

                lock (_lock)
                {
                    Interlocked.Increment(ref _sleepers); // a full fence before re-reading the share
                    while (Generation(Volatile.Read(ref own)) == seen && !_disposed) Monitor.Wait(_lock);
                    Interlocked.Decrement(ref _sleepers);
                }
            }

            if (_disposed) return;
            seen = Generation(Volatile.Read(ref own));
            // The job may be over and _work already the next one's: then every claim fails on the generation.
            if (_work is { } work) Drain(index, seen, work);
        }
    }

    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct PaddedCounter
    {
        [FieldOffset(64)]
        public long Value;
    }

    public void Dispose()
    {
        _disposed = true;
        lock (_lock) Monitor.PulseAll(_lock);
        foreach (var t in _threads) t.Join();
    }
}
