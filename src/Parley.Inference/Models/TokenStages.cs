using Parley.Inference.Tensors;

namespace Parley.Inference.Models;

/// <summary>
/// The per-token steps of a layer between its matrix products: residual additions with RMS norms,
/// per-head q/k norms, RoPE with the F16 rounding and cache write of Q, K and V, and SwiGLU. A prompt chunk's tokens are split
/// across the pool (run one after the other they left the other threads idle for a tenth of a
/// prompt's time); a decode step's few tokens run inline, where the pool's round trip would cost
/// more. Nothing is allocated either way.
/// </summary>
internal sealed unsafe class TokenStages(ModelConfig c, ForwardScratch s, Rope rope, WorkerPool pool, ParallelRows rows) : IParallelWork
{
    private const int ChunksPerThread = 4;

    private enum Stage { Residual, Positions, SwiGlu }

    private BlockTable[] _tables = [];
    private PagedKvCache _cache = null!;
    private Stage _stage;
    private bool _add;
    private float* _norm;
    private float* _qNorm;
    private float* _kNorm;
    private int _layer;
    private int _tokens;
    private int _chunks;

    /// <summary>Notes each token's block table, for the cache writes of every layer of this pass.</summary>
    public void Prepare(ForwardBatch batch, PagedKvCache cache)
    {
        if (_tables.Length < batch.TokenCount) _tables = new BlockTable[Math.Max(batch.TokenCount, 2 * _tables.Length)];
        foreach (var seg in batch.Segments)
        {
            for (int i = 0; i < seg.Count; i++) _tables[seg.First + i] = seg.Table;
        }

        _cache = cache;
    }

    /// <summary>For every token: X += Proj when <paramref name="add"/>, then Xn = RMSNorm(X) · <paramref name="norm"/> unless it is null.</summary>
    public void Residual(int tokens, bool add, float* norm)
    {
        _stage = Stage.Residual;
        _add = add;
        _norm = norm;
        Run(tokens, c.EmbeddingLength);
    }

    /// <summary>
    /// For every token: each head of Q and K RMS-normed by <paramref name="qNorm"/> and <paramref name="kNorm"/>
    /// when they are not null, RoPE on Q and K, Q, K and V rounded to F16, K and V written to its cache
    /// slot in <paramref name="layer"/>.
    /// </summary>
    public void Positions(int tokens, int layer, float* qNorm, float* kNorm)
    {
        _stage = Stage.Positions;
        _layer = layer;
        _qNorm = qNorm;
        _kNorm = kNorm;
        Run(tokens, c.QDim + 2 * c.KvDim);
    }

    /// <summary>For every token: Gate = SiLU(Gate) · Up.</summary>
    public void SwiGlu(int tokens)
    {
        _stage = Stage.SwiGlu;
        Run(tokens, c.FeedForwardLength);
    }

    private void Run(int tokens, int elements)
    {
        if (!rows.WorthSplitting(tokens, elements))
        {
            Range(0, tokens);
            return;
        }

        _tokens = tokens;
        _chunks = Math.Min(tokens, pool.Threads * ChunksPerThread);
        pool.Run(this, _chunks);
    }

    public void Execute(int participant, int chunk) => Range((int)((long)_tokens * chunk / _chunks), (int)((long)_tokens * (chunk + 1) / _chunks));

    private void Range(int from, int to)
    {
        int d = c.EmbeddingLength, ff = c.FeedForwardLength;
        for (int t = from; t < to; t++)
        {
            switch (_stage)
            {
                case Stage.Positions:
                    Position(t);
                    break;
                case Stage.SwiGlu:
                    Ops.SwiGlu(s.Gate + (long)t * ff, s.Up + (long)t * ff, ff);
                    break;
                default:
                    float* x = s.X + (long)t * d;
                    if (_add) Ops.Add(x, s.Proj + (long)t * d, d);
                    if (_norm != null) Ops.RmsNorm(x, _norm, s.Xn + (long)t * d, d, c.RmsEpsilon);
                    break;
            }
        }
    }

    private void Position(int t)
    {
        int p = s.Positions[t];
        float* q = s.Q + (long)t * c.QDim;
        float* k = s.K + (long)t * c.KvDim;
        float* v = s.V + (long)t * c.KvDim;
        if (_qNorm != null) HeadNorms(q, c.HeadCount, _qNorm);
        if (_kNorm != null) HeadNorms(k, c.KvHeadCount, _kNorm);
        rope.Apply(q, c.HeadCount, t);
        rope.Apply(k, c.KvHeadCount, t);
        // Q meets the keys as F16; the cache rounds or quantizes keys and values as it stores them.
        Ops.RoundToHalf(q, c.QDim);
        _cache.Write(_tables[t][p / PagedKvCache.BlockSize], p % PagedKvCache.BlockSize, _layer, k, v);
    }

    private void HeadNorms(float* x, int heads, float* weight)
    {
        for (int h = 0; h < heads; h++) Ops.RmsNorm(x + h * c.HeadDim, weight, x + h * c.HeadDim, c.HeadDim, c.RmsEpsilon);
    }
}
