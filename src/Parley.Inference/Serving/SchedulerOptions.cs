using Parley.Inference.Models;

namespace Parley.Inference.Serving;

/// <summary>Limits of the scheduler; the defaults suit a laptop.</summary>
public sealed record SchedulerOptions
{
    /// <summary>Sequences generating at once; more wait in the queue.</summary>
    public int MaxSequences { get; init; } = 16;
    /// <summary>Requests that may wait; beyond this new ones are refused (HTTP 429).</summary>
    public int MaxQueue { get; init; } = 64;
    /// <summary>Tokens in one forward pass: every decode token plus prefill chunks up to this budget.</summary>
    public int MaxBatchTokens { get; init; } = 256;
    /// <summary>
    /// How long prompt chunks may make a step that streams are decoding in, in ms (their inter-token
    /// latency); 0: no limit but <see cref="MaxBatchTokens"/>. See <see cref="PrefillPacer"/>.
    /// </summary>
    public int PrefillStallMs { get; init; } = 50;
    /// <summary>The "model" label of the scheduler's metrics.</summary>
    public string Name { get; init; } = "default";
    /// <summary>Memory for keys and values, in MiB (unless <see cref="KvCacheTokens"/> is set).</summary>
    public int KvCacheMegabytes { get; init; } = 256;
    /// <summary>The cache's size in positions, shared by all sequences (llama-server's --ctx-size); 0: by <see cref="KvCacheMegabytes"/>.</summary>
    public int KvCacheTokens { get; init; }
    /// <summary>Run <see cref="SchedulerWarmUp"/> when the model is loaded, before it serves (parley serve; off with --no-warmup).</summary>
    public bool WarmUp { get; init; }
    /// <summary>How keys and values are stored (--cache-type-k, --cache-type-v).</summary>
    public KvCacheTypes KvCacheTypes { get; init; } = KvCacheTypes.Default;
}
