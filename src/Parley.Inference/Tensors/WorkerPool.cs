namespace Parley.Inference.Tensors;

/// <summary>Work that a <see cref="WorkerPool"/> splits: each participant gets its index and the count.</summary>
public interface IParallelWork
{
    void Execute(int index, int count);
}

/// <summary>
/// A persistent pool of threads that run one piece of work at a time, with the calling thread as
/// participant 0. Workers spin briefly between jobs (a decode step issues dozens of products a
/// millisecond apart), then sleep so an idle server costs nothing. No allocation per job.
/// </summary>
public sealed class WorkerPool : IDisposable
{
    private const int SpinIterations = 20_000;

    private readonly Thread[] _threads;
    private readonly object _lock = new();
    private IParallelWork? _work;
    private int _generation;
    private int _pending;
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

    /// <summary>Runs <paramref name="work"/> on every participant and returns when all have finished.</summary>
    public void Run(IParallelWork work)
    {
        if (Threads == 1)
        {
            work.Execute(0, 1);
            return;
        }

        _work = work;
        Volatile.Write(ref _pending, Threads - 1);
        Interlocked.Increment(ref _generation);
        if (Volatile.Read(ref _sleepers) > 0)
        {
            lock (_lock) Monitor.PulseAll(_lock);
        }

        work.Execute(0, Threads);
        var spin = new SpinWait();
        while (Volatile.Read(ref _pending) != 0) spin.SpinOnce(-1);
    }

    private void WorkerLoop(int index)
    {
        int seen = 0;
        while (true)
        {
            int spins = 0;
            while (Volatile.Read(ref _generation) == seen && !_disposed)
            {
                if (spins++ < SpinIterations)
                {
                    // Yielding now and then lets the other threads of a busy machine (a server's HTTP
                    // threads, its clients) run on this core instead of preempting a thread mid-product.
                    if ((spins & 63) == 0) Thread.Yield();
                    else Thread.SpinWait(20);
                    continue;
                }

                lock (_lock)
                {
                    Interlocked.Increment(ref _sleepers); // a full fence before re-reading the generation
                    while (Volatile.Read(ref _generation) == seen && !_disposed) Monitor.Wait(_lock);
                    Interlocked.Decrement(ref _sleepers);
                }
            }

            if (_disposed) return;
            seen = Volatile.Read(ref _generation);
            _work!.Execute(index, Threads);
            Interlocked.Decrement(ref _pending);
        }
    }

    public void Dispose()
    {
        _disposed = true;
        lock (_lock) Monitor.PulseAll(_lock);
        foreach (var t in _threads) t.Join();
    }
}
