using Parley.Inference.Gguf;
using Parley.Inference.Tensors;

namespace Parley.Inference.Models;

/// <summary>
/// A Llama-family transformer (llama, qwen2) over a memory-mapped GGUF file. <see cref="Forward"/>
/// takes a batch of tokens with their positions, appends their keys and values to the cache and
/// returns logits; prompts go through it whole, as matrix-matrix products.
/// </summary>
public sealed unsafe class LlamaModel : IDisposable
{
    private readonly WorkerPool _pool;
    private readonly MatMul _matmul;
    private readonly ParallelRows _rows;
    private readonly ForwardScratch _s;
    private readonly Attention _attention;
    private readonly Rope _rope;

    private LlamaModel(GgufFile file, int threads, KernelLevel level)
    {
        File = file;
        Config = ModelConfig.FromGguf(file);
        Weights = ModelWeights.Load(file, Config);
        _pool = new WorkerPool(threads);
        _matmul = new MatMul(_pool, level);
        _rows = new ParallelRows(_pool);
        _s = new ForwardScratch(Config);
        _attention = new Attention(Config, _s);
        _rope = new Rope(Config, Weights.RopeFreqs);
    }

    public GgufFile File { get; }
    public ModelConfig Config { get; }
    public ModelWeights Weights { get; }
    public int VocabSize => Weights.VocabSize;
    public int Threads => _pool.Threads;

    /// <summary>Opens a model; <paramref name="threads"/> 0 means one per core.</summary>
    public static LlamaModel Load(string path, int threads = 0, KernelLevel? level = null)
    {
        var file = GgufFile.Open(path);
        try
        {
            return new LlamaModel(file, threads > 0 ? threads : Environment.ProcessorCount, level ?? KernelLevels.Best);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public KvCache CreateCache(int capacity = 0) => new(Config, capacity > 0 ? Math.Min(capacity, Config.ContextLength) : Config.ContextLength);

    /// <summary>
    /// Runs <paramref name="tokens"/> at <paramref name="positions"/> (each below the cache capacity,
    /// every earlier position already in the cache or in this batch). Writes the last token's logits
    /// to <paramref name="logits"/>, or every token's (row-major) when <paramref name="allLogits"/>.
    /// </summary>
    public void Forward(ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions, KvCache cache, Span<float> logits, bool allLogits = false)
    {
        int n = tokens.Length;
        var c = Config;
        if (n == 0 || positions.Length != n) throw new ArgumentException("expected one position per token and at least one token");
        if (logits.Length < (allLogits ? n : 1) * VocabSize) throw new ArgumentException("logits buffer too small");
        int maxPos = 0;
        for (int t = 0; t < n; t++)
        {
            if ((uint)tokens[t] >= (uint)VocabSize) throw new ArgumentOutOfRangeException(nameof(tokens), $"token {tokens[t]} is outside the vocabulary of {VocabSize}");
            if ((uint)positions[t] >= (uint)cache.Capacity) throw new ArgumentOutOfRangeException(nameof(positions), $"position {positions[t]} is outside the context of {cache.Capacity}");
            maxPos = Math.Max(maxPos, positions[t]);
        }

        _s.Ensure(n, Threads, cache.Capacity);
        int d = c.EmbeddingLength;
        for (int t = 0; t < n; t++) Weights.TokenEmbedding.ReadRow(tokens[t], new Span<float>(_s.X + (long)t * d, d));

        fixed (int* pos = positions)
        {
            _rope.Prepare(pos, n);
            for (int l = 0; l < c.LayerCount; l++) Layer(l, Weights.Layers[l], n, pos, maxPos, cache);
        }

        cache.Length = Math.Max(cache.Length, maxPos + 1);

        int first = allLogits ? 0 : n - 1;
        for (int t = first; t < n; t++) Ops.RmsNorm(_s.X + (long)t * d, Weights.OutputNorm, _s.Xn + (long)(t - first) * d, d, c.RmsEpsilon);
        fixed (float* y = logits)
        {
            Project(Weights.Output, _s.Xn, n - first, y);
        }
    }

    private void Layer(int l, LayerWeights w, int n, int* pos, int maxPos, KvCache cache)
    {
        var c = Config;
        int d = c.EmbeddingLength;
        for (int t = 0; t < n; t++) Ops.RmsNorm(_s.X + (long)t * d, w.AttnNorm, _s.Xn + (long)t * d, d, c.RmsEpsilon);
        Project(w.Wq, _s.Xn, n, _s.Q, w.Bq);
        Project(w.Wk, _s.Xn, n, _s.K, w.Bk, sameInput: true);
        Project(w.Wv, _s.Xn, n, _s.V, w.Bv, sameInput: true);

        for (int t = 0; t < n; t++)
        {
            float* q = _s.Q + (long)t * c.QDim;
            float* k = _s.K + (long)t * c.KvDim;
            _rope.Apply(q, c.HeadCount, t);
            _rope.Apply(k, c.KvHeadCount, t);
            Ops.RoundToHalf(q, c.QDim); // Q meets the F16 keys as F16
            Ops.FloatToHalf(k, cache.K(l, pos[t]), c.KvDim);
            Ops.FloatToHalf(_s.V + (long)t * c.KvDim, cache.V(l, pos[t]), c.KvDim);
        }

        _attention.Run(_pool, cache, l, n, pos, maxPos + 1);

        Project(w.Wo, _s.Attn, n, _s.Proj);
        for (int t = 0; t < n; t++) Ops.Add(_s.X + (long)t * d, _s.Proj + (long)t * d, d);

        for (int t = 0; t < n; t++) Ops.RmsNorm(_s.X + (long)t * d, w.FfnNorm, _s.Xn + (long)t * d, d, c.RmsEpsilon);
        Project(w.WGate, _s.Xn, n, _s.Gate);
        Project(w.WUp, _s.Xn, n, _s.Up, sameInput: true);
        int ff = c.FeedForwardLength;
        if (n == 1) Ops.SwiGlu(_s.Gate, _s.Up, ff);
        else _rows.For(n, t => Ops.SwiGlu(_s.Gate + (long)t * ff, _s.Up + (long)t * ff, ff));
        Project(w.WDown, _s.Gate, n, _s.Proj);
        for (int t = 0; t < n; t++) Ops.Add(_s.X + (long)t * d, _s.Proj + (long)t * d, d);
    }

    /// <summary>
    /// y = W·x (+ bias) for n rows. With <paramref name="sameInput"/> the activations converted for
    /// the previous product are reused when they are already in this weight's dot type.
    /// </summary>
    private void Project(WeightMatrix w, float* x, int n, float* y, float* bias = null, bool sameInput = false)
    {
        var type = ActivationLayout.For(w.Type);
        var act = _s.Activations;
        if (!sameInput || act.Type != type)
        {
            act.Load(type, x, n, w.Cols, _rows);
        }

        _matmul.Run(w, act, y, w.Rows);
        if (bias != null)
        {
            for (int t = 0; t < n; t++) Ops.Add(y + (long)t * w.Rows, bias, w.Rows);
        }
    }

    public void Dispose()
    {
        _pool.Dispose();
        _s.Dispose();
        File.Dispose();
    }
}
