using Parley.Inference.Gguf;

namespace Parley.Inference.Models;

/// <summary>
/// What the generator, the scheduler and the server need of a model, whatever its architecture: a
/// forward pass over a batch of sequences into a paged KV cache, and its shape. Not thread-safe: one
/// caller (a generator or the scheduler's engine thread) drives it.
/// </summary>
public interface ILanguageModel : IDisposable
{
    GgufFile File { get; }
    ModelConfig Config { get; }
    int VocabSize { get; }
    int Threads { get; }

    /// <summary>A single sequence's cache; <paramref name="capacity"/> 0 means the whole context.</summary>
    KvCache CreateCache(int capacity = 0, KvCacheTypes? types = null);

    /// <summary>
    /// Runs <paramref name="tokens"/> at positions <paramref name="start"/>.. of a single sequence
    /// (every earlier position already in <paramref name="cache"/>) and writes the last token's logits.
    /// </summary>
    void Forward(ReadOnlySpan<int> tokens, int start, KvCache cache, Span<float> logits);

    /// <summary>
    /// One forward pass over every segment of <paramref name="batch"/>: appends their keys and values
    /// to their blocks of <paramref name="cache"/> and writes one row of logits per segment that asked
    /// for them (row-major, in segment order).
    /// </summary>
    void Forward(ForwardBatch batch, PagedKvCache cache, Span<float> logits);

    /// <summary>Runs <paramref name="body"/> for 0..count-1 on the model's threads (between forward passes only).</summary>
    void ParallelFor(int count, Action<int> body, int elementsEach);
}
