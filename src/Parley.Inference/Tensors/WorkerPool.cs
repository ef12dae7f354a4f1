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
    private const int SpinIterations = 20_000;

    private readonly Thread[] _threads;
    private readonly object _lock = new();
    private IParallelWork? _work;
    private int _chunks;
    // The job's generation (high half) and its next unclaimed chunk (low half), claimed by compare-and-swap,
    // so a worker that wakes late can never claim a chunk of a job other than the one it read.
    private long _ticket;
    private int _done;
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
        if (Threads == 1 || chunks <= 1)
        {
            for (int c = 0; c < chunks; c++) work.Execute(0, c);
            return;
        }

        _work = work;
        _chunks = chunks;
        _done = 0;
        long generation = (Volatile.Read(ref _ticket) >> 32) + 1;
        Volatile.Write(ref _ticket, generation << 32); // publishes the fields above
        if (Volatile.Read(ref _sleepers) > 0)
        {
            lock (_lock) Monitor.PulseAll(_lock);
        }

        Drain(0, generation, work, chunks);
        var spin = new SpinWait();
        while (Volatile.Read(ref _done) != chunks) spin.SpinOnce(-1);
        _work = null;
    }

    /// <summary>Claims and runs chunks of job <paramref name="generation"/> until none is left.</summary>
    private void Drain(int participant, long generation, IParallelWork work, int chunks)
    {
        while (true)
        {
            long ticket = Volatile.Read(ref _ticket);
            if (ticket >> 32 != generation || (int)ticket >= chunks) return;
            if (Interlocked.CompareExchange(ref _ticket, ticket + 1, ticket) != ticket) continue;
            work.Execute(participant, (int)ticket);
            Interlocked.Increment(ref _done);
        }
    }

    private void WorkerLoop(int index)
    {
        long seen = 0;
        while (true)
        {
            int spins = 0;
            while (Volatile.Read(ref _ticket) >> 32 == seen && !_disposed)
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
                    while (Volatile.Read(ref _ticket) >> 32 == seen && !_disposed) Monitor.Wait(_lock);
                    Interlocked.Decrement(ref _sleepers);
                }
            }

            if (_disposed) return;
            seen = Volatile.Read(ref _ticket) >> 32;
            // The job may already be over, its fields replaced by the next one's: Drain's claim checks the generation first.
            var work = _work;
            int chunks = _chunks;
            if (work is not null) Drain(index, seen, work, chunks);
        }
    }

    public void Dispose()
    {
        _disposed = true;
        lock (_lock) Monitor.PulseAll(_lock);
        foreach (var t in _threads) t.Join();
    }
}
