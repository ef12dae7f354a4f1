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
/// participant 0. Threads claim chunks from a shared counter rather than owning a fixed share, so
/// when the OS lends a core to another thread (a server's HTTP threads, its clients), the others
/// take over the chunks that thread would have done instead of waiting for it: on a machine with
/// as many busy threads as cores, a fixed split stalls every product for a scheduler time slice.
/// Workers spin briefly between jobs (a decode step issues dozens of products a millisecond
/// apart), then sleep so an idle server costs nothing. No allocation per job.
/// </summary>
public sealed class WorkerPool : IDisposable
{
    /// <summary>The most chunks one job may have.</summary>
    public const int MaxChunks = (1 << FieldBits) - 1;

    private const int SpinIterations = 20_000;
    private const int FieldBits = 20;
    private const long FieldMask = MaxChunks;

    private readonly Thread[] _threads;
    private readonly object _lock = new();
    private IParallelWork? _work;
    // One word says all a participant needs to claim a chunk: the job's generation (top 24 bits), its
    // chunk count and its next unclaimed chunk (20 bits each). Claims are compare-and-swaps on it, so a
    // worker that wakes late, or reads while the next job is being set up, can never claim a chunk of
    // a job other than the one it read, nor one past its end. Both counters every participant writes
    // sit on cache lines of their own.
    private PaddedCounter _ticket;
    private PaddedCounter _done;
    private int _sleepers;
    private volatile bool _disposed;

    public WorkerPool(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Threads = threads;
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
        long generation = (Generation(Volatile.Read(ref _ticket.Value)) + 1) & ((1L << (64 - 2 * FieldBits)) - 1);
        long ticket = generation << (2 * FieldBits) | (long)chunks << FieldBits;
        // A full fence: the store must be visible before the sleepers are read, or a worker going to sleep could miss it.
        Interlocked.Exchange(ref _ticket.Value, ticket);
        if (Volatile.Read(ref _sleepers) > 0)
        {
            lock (_lock) Monitor.PulseAll(_lock);
        }

        Drain(0, ticket, work);
        var spin = new SpinWait();
        while (Volatile.Read(ref _done.Value) != chunks) spin.SpinOnce(-1);
        _work = null;
    }

    private static long Generation(long ticket) => (long)((ulong)ticket >> (2 * FieldBits));

    /// <summary>Claims and runs chunks of the job that <paramref name="job"/> (its ticket as published) describes until none is left, then counts them done.</summary>
    private void Drain(int participant, long job, IParallelWork work)
    {
        long generation = Generation(job);
        int chunks = (int)((job >> FieldBits) & FieldMask), ran = 0;
        while (true)
        {
            long ticket = Volatile.Read(ref _ticket.Value);
            int next = (int)(ticket & FieldMask);
            if (Generation(ticket) != generation || next >= chunks) break;
            if (Interlocked.CompareExchange(ref _ticket.Value, ticket + 1, ticket) != ticket) continue;
            work.Execute(participant, next);
            ran++;
        }

        if (ran > 0) Interlocked.Add(ref _done.Value, ran);
    }

    private void WorkerLoop(int index)
    {
        long seen = 0;
        while (true)
        {
            int spins = 0;
            while (Generation(Volatile.Read(ref _ticket.Value)) == seen && !_disposed)
            {
                if (spins++ < SpinIterations)
                {
                    if ((spins & 63) == 0) Thread.Yield();
                    else Thread.SpinWait(20);
                    continue;
                }

                lock (_lock)
                {
                    Interlocked.Increment(ref _sleepers); // a full fence before re-reading the ticket
                    while (Generation(Volatile.Read(ref _ticket.Value)) == seen && !_disposed) Monitor.Wait(_lock);
                    Interlocked.Decrement(ref _sleepers);
                }
            }

            if (_disposed) return;
            long job = Volatile.Read(ref _ticket.Value);
            seen = Generation(job);
            // The job may be over and _work already the next one's: then Drain's claim fails on the generation.
            if (_work is { } work) Drain(index, job, work);
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
