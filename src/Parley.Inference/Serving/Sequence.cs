using System.Diagnostics;
using Parley.Inference.Generation;
using Parley.Inference.Models;
using Parley.Inference.Sampling;
using Parley.Inference.Tokenization;

namespace Parley.Inference.Serving;

/// <summary>
/// The scheduler's state of one request: its tokens (prompt, then output), how many of them are in
/// its blocks, and what turns samples into the stream. A preempted sequence keeps its tokens and
/// recomputes their keys later; its client notices only a pause.
/// </summary>
internal sealed class Sequence
{
    private readonly List<int> _tokens;
    private long _lastTokenAt;

    public Sequence(long order, GenerationRequest request, Tokenizer tokenizer, CancellationToken cancellation)
    {
        Order = order;
        Request = request;
        _tokens = [.. request.Prompt];
        Sampler = new Sampler(request.Options.Sampling);
        Output = new OutputAssembler(tokenizer, request.Options);
        Stream = new GenerationStream(request.Prompt.Count);
        Cancellation = cancellation;
        SubmittedAt = Stopwatch.GetTimestamp();
    }

    /// <summary>Arrival order: the newest sequence is preempted first.</summary>
    public long Order { get; }
    public GenerationRequest Request { get; }
    public Sampler Sampler { get; }
    public OutputAssembler Output { get; }
    public GenerationStream Stream { get; }
    public CancellationToken Cancellation { get; }
    public long SubmittedAt { get; }
    public BlockTable Table { get; } = new();
    public IReadOnlyList<int> Tokens => _tokens;
    public int Count => _tokens.Count;
    /// <summary>Tokens whose keys and values are in the blocks; the rest are computed by coming steps.</summary>
    public int Computed { get; set; }
    /// <summary>Full blocks registered in the prefix cache, and the prefix hash after them.</summary>
    public int Registered { get; set; }
    public BlockHash PrefixHash { get; set; }
    public bool Admitted { get; set; }
    public int Generated => _tokens.Count - Request.Prompt.Count;
    public int Pending => _tokens.Count - Computed;

    /// <summary>The token sampled from this step's logits, with its log-probabilities when asked for.</summary>
    public (int Id, TokenLogprob? Chosen, TokenLogprob[]? Top) Next { get; private set; }

    /// <summary>Samples the next token; sequences sample in parallel, each with its own sampler.</summary>
    public void Choose(ReadOnlySpan<float> logits)
    {
        int id = Sampler.Sample(logits, _tokens);
        if (!Request.Logprobs)
        {
            Next = (id, null, null);
            return;
        }

        var (chosen, top) = Logprobs.Of(logits, id, Request.TopLogprobs);
        Next = (id, chosen, top);
    }

    /// <summary>Set while the sequence has a segment in the step being built.</summary>
    public bool Scheduled { get; set; }
    public CancellationTokenRegistration CancelRegistration { get; set; }

    public ReadOnlySpan<int> Span(int start, int count) => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_tokens).Slice(start, count);

    public void Append(int token) => _tokens.Add(token);

    /// <summary>Seconds since the previous token (or since submission, for the first).</summary>
    public double Lap()
    {
        long now = Stopwatch.GetTimestamp();
        double s = Stopwatch.GetElapsedTime(_lastTokenAt == 0 ? SubmittedAt : _lastTokenAt, now).TotalSeconds;
        _lastTokenAt = now;
        return s;
    }

    /// <summary>Forgets every computed position (after its blocks were released).</summary>
    public void Reset()
    {
        Computed = 0;
        Registered = 0;
        PrefixHash = BlockHash.Empty;
        Admitted = false;
    }
}
