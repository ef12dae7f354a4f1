using Parley.Inference.Gguf;
using Parley.Inference.Models.Architectures;
using Parley.Inference.Tensors;

namespace Parley.Inference.Models;

/// <summary>
/// A decoder-only transformer of pre-norm blocks, dense or mixture-of-experts (llama, qwen2, qwen3, qwen3moe), over a memory-mapped
/// GGUF file; its <see cref="Architecture"/> says which tensors each block has. A forward pass takes a
/// batch of tokens from one or many sequences, appends their keys and values to the paged cache and
/// returns logits; all the batch's tokens go through the weights together, as matrix-matrix products.
/// The file is owned from here on: disposing the model closes it.
/// </summary>
public sealed unsafe class DecoderModel : ILanguageModel
{
    private readonly WorkerPool _pool;
    private readonly MatMul _matmul;
    private readonly ParallelRows _rows;
    private readonly ForwardScratch _s;
    private readonly Attention _attention;
    private readonly Rope _rope;
    private readonly TokenStages _stages;
    private readonly Projector _project;
    private readonly MixtureOfExperts? _experts;
    private readonly ForwardBatch _single = new();

    internal DecoderModel(GgufFile file, Architecture architecture, int threads, KernelLevel level)
    {
        File = file;
        Config = ModelConfig.FromGguf(file, architecture);
        Weights = ModelWeights.Load(file, Config, architecture);
        _pool = new WorkerPool(threads);
        _matmul = new MatMul(_pool, level);
        _rows = new ParallelRows(_pool);
        _s = new ForwardScratch(Config);
        _attention = new Attention(Config, _s);
        _rope = new Rope(Config, Weights.RopeFreqs);
        _stages = new TokenStages(Config, _s, _rope, _pool, _rows);
        _project = new Projector(_matmul, _rows, _s.Activations);
        if (Config.ExpertCount > 0) _experts = new MixtureOfExperts(Config, _project);
    }

    public GgufFile File { get; }
    public ModelConfig Config { get; }
    public ModelWeights Weights { get; }
    public int VocabSize => Weights.VocabSize;
    public int Threads => _pool.Threads;

    public void ParallelFor(int count, Action<int> body, int elementsEach) => _rows.For(count, body, elementsEach);

    public KvCache CreateCache(int capacity = 0, KvCacheTypes? types = null) =>
        new(Config, capacity > 0 ? Math.Min(capacity, Config.ContextLength) : Config.ContextLength, types);

    public void Forward(ReadOnlySpan<int> tokens, int start, KvCache cache, Span<float> logits)
    {
        if (start + tokens.Length > cache.Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"position {start + tokens.Length - 1} is outside the context of {cache.Capacity}");
        }

        _single.Clear();
        _single.Add(tokens, start, cache.Table, logits: true);
        Forward(_single, cache.Paged, logits);
        cache.Length = Math.Max(cache.Length, start + tokens.Length);
    }

    public void Forward(ForwardBatch batch, PagedKvCache cache, Span<float> logits)
    {
        int n = batch.TokenCount;
        var c = Config;
        if (n == 0) throw new ArgumentException("the batch is empty", nameof(batch));
        if (logits.Length < batch.LogitRows * VocabSize) throw new ArgumentException("logits buffer too small");
        var tokens = batch.Tokens;
        for (int t = 0; t < n; t++)
        {
            if ((uint)tokens[t] >= (uint)VocabSize) throw new ArgumentOutOfRangeException(nameof(batch), $"token {tokens[t]} is outside the vocabulary of {VocabSize}");
        }

        foreach (var seg in batch.Segments)
        {
            if (seg.Keys > c.ContextLength) throw new ArgumentOutOfRangeException(nameof(batch), $"position {seg.Keys - 1} is outside the context of {c.ContextLength}");
        }

        _s.Ensure(n, Threads, c.ContextLength);
        int d = c.EmbeddingLength;
        int* pos = _s.Positions;
        foreach (var seg in batch.Segments)
        {
            int grouped = seg.Count - seg.Count % 4;
            for (int i = 0; i < seg.Count; i++)
            {
                pos[seg.First + i] = seg.Start + i;
                _s.Paths[seg.First + i] = (i < grouped ? TokenPath.InGemmGroup : TokenPath.None) | (seg.Count == 1 ? TokenPath.Alone : TokenPath.None);
            }
        }

        for (int t = 0; t < n; t++) Weights.TokenEmbedding.ReadRow(tokens[t], new Span<float>(_s.X + (long)t * d, d));

        _rope.Prepare(pos, n);
        _attention.Prepare(batch, cache, pos);
        _stages.Prepare(batch, cache);
        _stages.Residual(n, add: false, Weights.Layers[0].AttnNorm);
        for (int l = 0; l < c.LayerCount; l++) Layer(l, Weights.Layers[l], n);

        foreach (var seg in batch.Segments)
        {
            if (seg.LogitRow < 0) continue;
            Ops.RmsNorm(_s.X + (long)(seg.First + seg.Count - 1) * d, Weights.OutputNorm, _s.Xn + (long)seg.LogitRow * d, d, c.RmsEpsilon);
        }

        if (batch.LogitRows == 0) return;
        fixed (float* y = logits)
        {
            Project(_s.Xn, batch.LogitRows, new Projection(Weights.Output, y, logits: true));
        }
    }

    /// <summary>One transformer block; Xn holds its input's attention norm, and on return the next block's.</summary>
    private void Layer(int l, LayerWeights w, int n)
    {
        var c = Config;
        Project(_s.Xn, n, new(w.Wq, _s.Q, w.Bq), new(w.Wk, _s.K, w.Bk), new(w.Wv, _s.V, w.Bv));
        _stages.Positions(n, l, w.QNorm, w.KNorm);
        _attention.Run(_pool, l);

        Project(_s.Attn, n, new Projection(w.Wo, _s.Proj));
        _stages.Residual(n, add: true, w.FfnNorm);
        if (w.Experts is { } experts)
        {
            _experts!.Run(experts, _s.Xn, _s.Proj, n, _s.Paths);
        }
        else
        {
            Project(_s.Xn, n, new(w.WGate, _s.Gate), new(w.WUp, _s.Up));
            _stages.SwiGlu(n);
            Project(_s.Gate, n, new Projection(w.WDown, _s.Proj));
        }

        _stages.Residual(n, add: true, l + 1 < c.LayerCount ? Weights.Layers[l + 1].AttnNorm : null);
    }

    private void Project(float* x, int n, params ReadOnlySpan<Projection> projections) => _project.Run(x, n, _s.Paths, projections);

    public void Dispose()
    {
        _pool.Dispose();
        _matmul.Dispose();
        _s.Dispose();
        _experts?.Dispose();
        File.Dispose();
    }
}
