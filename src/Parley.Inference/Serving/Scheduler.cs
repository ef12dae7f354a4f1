using Parley.Inference.Generation;
using Parley.Inference.Models;
using Parley.Inference.Tokenization;

namespace Parley.Inference.Serving;

/// <summary>
/// Serves many sequences on one model with iteration-level continuous batching: an engine thread
/// runs one forward pass per step for every running sequence (each decode token, plus prefill
/// chunks up to a token budget), so the weights are read once per step, not once per user. New
/// requests join at the next step; a long prompt is prefilled in chunks between decode steps.
/// Keys and values live in a shared <see cref="PagedKvCache"/>; when its blocks run out, the newest
/// sequence is preempted and recomputed later. Submissions wait in a bounded FIFO queue.
/// </summary>
public sealed class Scheduler : IDisposable
{
    /// <summary>The <see cref="System.Diagnostics.Metrics.Meter"/> of every scheduler's instruments.</summary>
    public const string MeterName = "Parley.Inference";
    private const int B = PagedKvCache.BlockSize;

    private readonly ILanguageModel _model;
    private readonly Tokenizer _tokenizer;
    private readonly SchedulerOptions _o;
    private readonly PrefillPacer _pacer;
    private readonly PagedKvCache _cache;
    private readonly BlockManager _blocks;
    private readonly SchedulerMetrics _metrics;
    private readonly ForwardBatch _batch = new();
    private readonly List<(Sequence Seq, int Count, int Row)> _step = [];
    private readonly List<(Sequence Seq, int Row)> _sampling = [];
    private readonly List<Sequence> _running = []; // engine thread only, in admission order
    private readonly LinkedList<Sequence> _waiting = new(); // guarded by _lock
    private readonly object _lock = new();
    private readonly Thread _thread;
    private float[] _logits = [];
    private long _order;
    private bool _stopping;
    private volatile int _runningCount;
    private long _prefixHits, _prefixMisses, _preemptions;

    public Scheduler(ILanguageModel model, Tokenizer tokenizer, SchedulerOptions? options = null)
    {
        _model = model;
        _tokenizer = tokenizer;
        _o = options ?? new SchedulerOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_o.MaxSequences, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(_o.MaxBatchTokens, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(_o.MaxQueue);
        _pacer = new PrefillPacer(_o.PrefillStallMs / 1000.0, _o.MaxSequences);
        int blocks = _o.KvCacheTokens > 0
            ? PagedKvCache.BlocksForPositions(_o.KvCacheTokens)
            : PagedKvCache.BlocksFor(model.Config, _o.KvCacheTypes, _o.KvCacheMegabytes);
        _cache = new PagedKvCache(model.Config, blocks, _o.KvCacheTypes);
        _blocks = new BlockManager(_cache.BlockCount);
        _metrics = new SchedulerMetrics(this, _o.Name);
        _thread = new Thread(Loop) { IsBackground = true, Name = "parley-engine" };
        _thread.Start();
    }

    public int ContextLength => _model.Config.ContextLength;
    public int MaxSequences => _o.MaxSequences;
    public int Running => _runningCount;
    public int Waiting
    {
        get
        {
            lock (_lock) return _waiting.Count;
        }
    }

    /// <summary>What the KV cache holds and takes, for start-up lines (<see cref="PagedKvCache.Describe"/>).</summary>
    public string KvCacheDescription => _cache.Describe();
    public int KvBlocksTotal => _blocks.Total;
    public int KvBlocksUsed => _blocks.Used;
    public long PrefixHits => Interlocked.Read(ref _prefixHits);
    public long PrefixMisses => Interlocked.Read(ref _prefixMisses);
    public long Preemptions => Interlocked.Read(ref _preemptions);

    /// <summary>
    /// Queues a sequence. Throws <see cref="QueueFullException"/> when the queue is full and
    /// <see cref="ArgumentException"/> for a request that could never run (empty, too long, unknown tokens).
    /// Cancelling <paramref name="cancellation"/> ends the sequence and frees its blocks within one step.
    /// </summary>
    public GenerationStream Submit(GenerationRequest request, CancellationToken cancellation = default)
    {
        Validate(request);
        var seq = new Sequence(Interlocked.Increment(ref _order), request, _tokenizer, cancellation);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            if (_waiting.Count >= _o.MaxQueue) throw new QueueFullException(_o.MaxQueue);
            _waiting.AddLast(seq);
            Monitor.Pulse(_lock);
        }

        seq.CancelRegistration = cancellation.UnsafeRegister(static s => ((Scheduler)s!).Wake(), this);
        _metrics.PromptTokens.Add(request.Prompt.Count, _metrics.Tag);
        return seq.Stream;
    }

    private void Validate(GenerationRequest r)
    {
        if (r.Prompt.Count == 0) throw new ArgumentException("the prompt is empty");
        if (r.Options.MaxTokens < 1) throw new ArgumentException("at least one token must be generated");
        if (r.Prompt.Count >= ContextLength)
        {
            throw new ArgumentException($"the prompt has {r.Prompt.Count} tokens, the model's context holds {ContextLength}");
        }

        foreach (int t in r.Prompt)
        {
            if ((uint)t >= (uint)_model.VocabSize) throw new ArgumentException($"token {t} is outside the vocabulary of {_model.VocabSize}");
        }

        int longest = Math.Min(ContextLength, r.Prompt.Count + r.Options.MaxTokens);
        int blocks = PagedKvCache.BlocksForPositions(longest);
        if (blocks > _blocks.Total)
        {
            throw new ArgumentException($"the request may reach {longest} tokens, which need {blocks} KV blocks; the cache has {_blocks.Total} (raise --ctx-size or --kv-cache-mb)");
        }
    }

    private void Wake()
    {
        lock (_lock) Monitor.Pulse(_lock);
    }

    private void Loop()
    {
        while (true)
        {
            lock (_lock)
            {
                while (!_stopping && _waiting.Count == 0 && _running.Count == 0) Monitor.Wait(_lock);
                if (_stopping) break;
                DropCancelledWaiting();
                Admit();
            }

            for (int i = _running.Count - 1; i >= 0; i--)
            {
                if (_running[i].Cancellation.IsCancellationRequested) Finish(_running[i], FinishReason.Cancelled);
            }

            if (_running.Count > 0)
            {
                try
                {
                    Step();
                }
                catch (Exception e)
                {
                    // A failure of the engine ends the sequences it was running, never the server.
                    foreach (var (seq, _, _) in _step) Fail(seq, e);
                    _step.Clear();
                }
            }

            _runningCount = _running.Count;
        }

        lock (_lock)
        {
            foreach (var seq in _waiting) Fail(seq, new ObjectDisposedException(nameof(Scheduler), "the server is shutting down"));
            _waiting.Clear();
        }

        foreach (var seq in _running.ToArray()) Fail(seq, new ObjectDisposedException(nameof(Scheduler), "the server is shutting down"));
    }

    private void DropCancelledWaiting()
    {
        for (var node = _waiting.First; node != null;)
        {
            var next = node.Next;
            if (node.Value.Cancellation.IsCancellationRequested)
            {
                _waiting.Remove(node);
                Complete(node.Value, FinishReason.Cancelled);
            }

            node = next;
        }
    }

    /// <summary>Moves queued sequences, in order, into the running set while there is room and memory for their prompts.</summary>
    private void Admit()
    {
        while (_waiting.First is { } node && _running.Count < _o.MaxSequences)
        {
            var seq = node.Value;
            // Keep one block of headroom per running sequence so admitting does not force a preemption at once.
            int needed = PagedKvCache.BlocksForPositions(seq.Count);
            if (needed + _running.Count > _blocks.Available) break;
            _waiting.RemoveFirst();
            MatchPrefix(seq);
            seq.Admitted = true;
            _running.Add(seq);
        }

        _runningCount = _running.Count;
    }

    /// <summary>Takes the cached blocks of the longest known prefix; at least one token is left to compute, for the logits.</summary>
    private void MatchPrefix(Sequence seq)
    {
        int full = (seq.Count - 1) / B;
        var parent = BlockHash.Empty;
        int hits = 0;
        for (; hits < full; hits++)
        {
            var tokens = seq.Span(hits * B, B);
            var hash = parent.Chain(tokens);
            int block = _blocks.Lookup(hash, tokens);
            if (block < 0) break;
            seq.Table.Add(block);
            parent = hash;
        }

        seq.Registered = hits;
        seq.Computed = hits * B;
        seq.PrefixHash = parent;
        if (seq.Generated == 0) seq.Stream.CachedPromptTokens = seq.Computed;
        Interlocked.Add(ref _prefixHits, hits);
        Interlocked.Add(ref _prefixMisses, full - hits);
    }

    private void Step()
    {
        _batch.Clear();
        _step.Clear();
        int budget = _o.MaxBatchTokens;
        var running = _running.ToArray();
        // Decode tokens first, so that running streams keep flowing while prompts are read.
        int decodes = 0;
        foreach (var seq in running)
        {
            if (!seq.Admitted || seq.Pending != 1 || !Reserve(seq, seq.Computed + 1)) continue;
            Schedule(seq, 1);
            budget--;
            decodes++;
        }

        budget = Math.Min(budget, _pacer.Budget(decodes, budget));

        foreach (var seq in running)
        {
            if (budget <= 0) break;
            if (!seq.Admitted || seq.Pending <= 1) continue;
            int chunk = Math.Min(seq.Pending, budget);
            if (!Reserve(seq, seq.Computed + chunk)) continue;
            Schedule(seq, chunk);
            budget -= chunk;
        }

        if (_batch.TokenCount == 0) return;
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        int vocab = _model.VocabSize;
        if (_logits.Length < _batch.LogitRows * vocab) _logits = new float[_batch.LogitRows * vocab];
        _model.Forward(_batch, _cache, _logits);

        _sampling.Clear();
        foreach (var (seq, count, row) in _step)
        {
            seq.Scheduled = false;
            seq.Computed += count;
            RegisterFullBlocks(seq);
            if (row >= 0) _sampling.Add((seq, row));
        }

        // Sampling reads a whole vocabulary per sequence; the sequences are independent, so they share the engine's threads.
        var logits = _logits;
        _model.ParallelFor(_sampling.Count, i => _sampling[i].Seq.Choose(logits.AsSpan(_sampling[i].Row * vocab, vocab)), vocab);
        foreach (var (seq, _) in _sampling) Emit(seq);
        // The tokens just woke their streams' writers, but the engine's threads fill the cores, and
        // Linux (EEVDF) lets a running thread finish its slice first: the writers would wait for the
        // next tick and the tokens leave in bursts 4 ms apart. Yielding once per step lets them run
        // now (single stream: inter-token p99 4.0 -> 0.4 ms, time to first token 5 -> 3 ms).
        if (_sampling.Count > 0) Thread.Yield();
        _step.Clear();
        double seconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
        _pacer.Observe(decodes, _batch.TokenCount - decodes, seconds);
        _metrics.StepDuration.Record(seconds, _metrics.Tag);
        _metrics.StepTokens.Record(_batch.TokenCount, _metrics.Tag);
    }

    private void Schedule(Sequence seq, int count)
    {
        bool last = seq.Computed + count == seq.Count;
        int row = _batch.Add(seq.Span(seq.Computed, count), seq.Computed, seq.Table, logits: last);
        seq.Scheduled = true;
        _step.Add((seq, count, row));
    }

    /// <summary>Gives the sequence blocks for its first <paramref name="positions"/>, preempting newer sequences if memory is short.</summary>
    private bool Reserve(Sequence seq, int positions)
    {
        while (seq.Table.Capacity < positions)
        {
            int block = _blocks.Allocate();
            if (block >= 0)
            {
                seq.Table.Add(block);
                continue;
            }

            Sequence? victim = null;
            foreach (var other in _running)
            {
                if (other != seq && !other.Scheduled && (victim is null || other.Order > victim.Order)) victim = other;
            }

            if (victim is null || victim.Order < seq.Order) victim = seq;
            Preempt(victim);
            if (victim == seq) return false;
        }

        return true;
    }

    /// <summary>Frees a sequence's blocks and puts it first in the queue; it keeps its tokens and recomputes them when readmitted.</summary>
    private void Preempt(Sequence seq)
    {
        _blocks.ReleaseAll(seq.Table);
        seq.Reset();
        _running.Remove(seq);
        Interlocked.Increment(ref _preemptions);
        lock (_lock) _waiting.AddFirst(seq);
    }

    private void RegisterFullBlocks(Sequence seq)
    {
        while ((seq.Registered + 1) * B <= seq.Computed)
        {
            var tokens = seq.Span(seq.Registered * B, B);
            var hash = seq.PrefixHash.Chain(tokens);
            _blocks.Register(seq.Table[seq.Registered], hash, tokens);
            seq.PrefixHash = hash;
            seq.Registered++;
        }
    }

    private void Emit(Sequence seq)
    {
        if (seq.Cancellation.IsCancellationRequested)
        {
            Finish(seq, FinishReason.Cancelled);
            return;
        }

        var (id, chosen, top) = seq.Next;
        double lap = seq.Lap();
        if (seq.Generated == 0) _metrics.TimeToFirstToken.Record(lap, _metrics.Tag);
        else _metrics.InterTokenLatency.Record(lap, _metrics.Tag);

        string? text = seq.Output.Accept(id);
        if (text is null)
        {
            Finish(seq, FinishReason.Stop);
            return;
        }

        seq.Append(id);
        seq.Stream.CompletionTokens++;
        _metrics.GeneratedTokens.Add(1, _metrics.Tag);
        seq.Stream.Channel.Writer.TryWrite(new StreamedToken(id, text, chosen, top));
        if (seq.Output.Stopped) Finish(seq, FinishReason.Stop);
        else if (seq.Generated >= seq.Request.Options.MaxTokens || seq.Count >= ContextLength) Finish(seq, FinishReason.Length);
    }

    private void Finish(Sequence seq, FinishReason reason)
    {
        _blocks.ReleaseAll(seq.Table);
        _running.Remove(seq);
        if (reason != FinishReason.Cancelled)
        {
            string rest = seq.Output.Flush();
            if (rest.Length > 0) seq.Stream.Channel.Writer.TryWrite(new StreamedToken(-1, rest));
        }

        Complete(seq, reason);
    }

    private static void Complete(Sequence seq, FinishReason reason)
    {
        seq.Stream.FinishReason = reason;
        seq.Stream.Channel.Writer.TryComplete();
        seq.CancelRegistration.Unregister();
    }

    private void Fail(Sequence seq, Exception e)
    {
        _blocks.ReleaseAll(seq.Table);
        _running.Remove(seq);
        seq.Scheduled = false;
        seq.Stream.Channel.Writer.TryComplete(e);
        seq.CancelRegistration.Unregister();
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_stopping) return;
            _stopping = true;
            Monitor.Pulse(_lock);
        }

        _thread.Join();
        _metrics.Dispose();
        _cache.Dispose();
    }
}

/// <summary>The admission queue is full; the client should retry later (HTTP 429).</summary>
public sealed class QueueFullException(int capacity)
    : Exception($"the server is at capacity ({capacity} requests already waiting); retry later");
