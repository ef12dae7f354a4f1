using System.Runtime.Intrinsics;
using Parley.Inference.Tensors;

namespace Parley.Inference.Models;

/// <summary>
/// Causal grouped-query attention of every segment of a batch over its own sequence's paged cache.
/// Numerics follow llama.cpp without flash attention: Q and K meet as F16 (Q is rounded before it
/// gets here), scores are scaled inside an F32 softmax with ggml's vector exp and a double sum, and
/// the probabilities are rounded to F16 before they weight the F16 values.
/// For speed keys are stored transposed in their blocks, so eight positions' scores come out of one
/// run of FMAs, and up to four query tokens of one head go through the keys and values together.
/// A decode token's query heads that share a KV head go through its keys together. Jobs are dealt
/// round-robin so that the long causal rows of a prompt's last tokens do not all land on one thread.
/// </summary>
internal sealed unsafe class Attention(ModelConfig c, ForwardScratch s) : IParallelWork
{
    public const int QueryTile = 4;
    private const int B = PagedKvCache.BlockSize;

    private readonly float _scale = 1.0f / MathF.Sqrt(c.HeadDim);
    private readonly List<Job> _jobs = [];
    private ForwardBatch _batch = null!;
    private PagedKvCache _cache = null!;
    private int* _positions;
    private int _layer;
    private int _stride;

    /// <summary>Scratch floats per thread: one score row per query of a tile.</summary>
    public static int ScoresPerThread(int context) => QueryTile * Stride(context);

    /// <summary>Score rows are padded to whole blocks so score loops never need a tail.</summary>
    public static int Stride(int context) => (context + B - 1) / B * B;

    /// <summary>
    /// Cuts the batch into jobs of up to four queries that share their keys: four tokens of one head,
    /// or, for a single decode token, the query heads of one KV head (grouped-query attention).
    /// Once per forward pass, shared by the layers.
    /// </summary>
    public void Prepare(ForwardBatch batch, PagedKvCache cache, int* positions)
    {
        _batch = batch;
        _cache = cache;
        _positions = positions;
        _jobs.Clear();
        int keys = 0, group = c.HeadCount / c.KvHeadCount;
        for (int i = 0; i < batch.Segments.Count; i++)
        {
            var seg = batch.Segments[i];
            keys = Math.Max(keys, seg.Keys);
            if (seg.Count == 1 && group > 1)
            {
                for (int kv = 0; kv < c.KvHeadCount; kv++)
                {
                    int end = (kv + 1) * group;
                    for (int h = kv * group; h < end; h += QueryTile) _jobs.Add(new Job(i, seg.First, Math.Min(QueryTile, end - h), h, ByHeads: true));
                }

                continue;
            }

            for (int t = 0; t < seg.Count; t += QueryTile)
            {
                for (int h = 0; h < c.HeadCount; h++) _jobs.Add(new Job(i, seg.First + t, Math.Min(QueryTile, seg.Count - t), h, ByHeads: false));
            }
        }

        _stride = Stride(keys);
    }

    /// <summary>Attends every query in s.Q to its sequence's keys in <paramref name="layer"/>; the output goes to s.Attn.</summary>
    public void Run(WorkerPool pool, int layer)
    {
        _layer = layer;
        pool.Run(this);
    }

    public void Execute(int index, int count)
    {
        float* scores = s.Scores + (long)index * ScoresPerThread(_stride);
        double* queries = s.QueriesF64 + (long)index * QueryTile * c.HeadDim;
        for (int j = index; j < _jobs.Count; j += count)
        {
            var job = _jobs[j];
            var table = _batch.Segments[job.Segment].Table;
            if (job.M == 1) Tile<One>(table, job, scores, queries);
            else Tile<Four>(table, job, scores, queries);
        }
    }

    /// <summary>Queries of one job: tokens T0..T0+M-1 of head H0, or heads H0..H0+M-1 of token T0.</summary>
    private readonly record struct Job(int Segment, int T0, int M, int H0, bool ByHeads);

    private interface IWidth
    {
        static abstract int Queries { get; }
    }

    private readonly struct One : IWidth
    {
        public static int Queries => 1;
    }

    private readonly struct Four : IWidth
    {
        public static int Queries => 4;
    }

    /// <summary>The job's queries; a width-four tile with fewer than four repeats its last query.</summary>
    private void Tile<TW>(BlockTable table, Job job, float* scores, double* queries) where TW : struct, IWidth
    {
        int hd = c.HeadDim, stride = _stride, m = job.M;
        int kvh = job.H0 / (c.HeadCount / c.KvHeadCount);
        var q = stackalloc float*[QueryTile];
        var n = stackalloc int[QueryTile];
        int keys = 0;
        for (int i = 0; i < QueryTile; i++)
        {
            int step = Math.Min(i, m - 1);
            int t = job.ByHeads ? job.T0 : job.T0 + step, h = job.ByHeads ? job.H0 + step : job.H0;
            q[i] = s.Q + (long)t * c.QDim + h * hd;
            n[i] = _positions[t] + 1;
            keys = Math.Max(keys, n[i]);
        }

        Scores<TW>(q, queries, table, kvh * hd, hd, keys, scores);
        for (int i = 0; i < TW.Queries; i++) Softmax(scores + i * stride, n[i], keys);
        Weigh<TW>(scores, stride, keys, table, kvh * hd, hd, s.Attn + (long)job.T0 * c.QDim + job.H0 * hd, job.ByHeads ? hd : c.QDim, m);
    }

    /// <summary>
    /// scores[i][j] = scale · q_i · k_j for j below <paramref name="keys"/>, rounded up to eight.
    /// Products of two halves are exact, and summed in double they stay exact, so each dot is the
    /// correctly rounded one, which is what ggml's F16 dot gives for head sizes below its vector
    /// step (its leftovers are summed in double) and within an ulp of it above.
    /// </summary>
    private void Scores<TW>(float** q, double* qd, BlockTable table, int offset, int hd, int keys, float* scores) where TW : struct, IWidth
    {
        var scale = Vector256.Create(_scale);
        int stride = _stride;
        // The queries as doubles once per tile: broadcasting them from memory keeps the inner loop free
        // of float-to-double conversions, whose merge into one register chained every step together.
        for (int i = 0; i < TW.Queries; i++)
        {
            for (int d = 0; d < hd; d++) qd[i * hd + d] = q[i][d];
        }

        double* q0 = qd, q1 = qd + hd, q2 = qd + 2 * hd, q3 = qd + 3 * hd;
        for (int j = 0; j < keys; j += 8)
        {
            Vector256<double> a0 = default, b0 = default, a1 = default, b1 = default;
            Vector256<double> a2 = default, b2 = default, a3 = default, b3 = default;
            float* k = _cache.Keys(table[j / B], _layer) + offset * B + j % B;
            for (int d = 0; d < hd; d++, k += B)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Load(k));
                var x = Vector256.Create(q0[d]);
                a0 = Vector256.FusedMultiplyAdd(x, lo, a0);
                b0 = Vector256.FusedMultiplyAdd(x, hi, b0);
                if (TW.Queries > 1)
                {
                    x = Vector256.Create(q1[d]);
                    a1 = Vector256.FusedMultiplyAdd(x, lo, a1);
                    b1 = Vector256.FusedMultiplyAdd(x, hi, b1);
                    x = Vector256.Create(q2[d]);
                    a2 = Vector256.FusedMultiplyAdd(x, lo, a2);
                    b2 = Vector256.FusedMultiplyAdd(x, hi, b2);
                    x = Vector256.Create(q3[d]);
                    a3 = Vector256.FusedMultiplyAdd(x, lo, a3);
                    b3 = Vector256.FusedMultiplyAdd(x, hi, b3);
                }
            }

            Vector256.Store(Vector256.Narrow(a0, b0) * scale, scores + j);
            if (TW.Queries > 1)
            {
                Vector256.Store(Vector256.Narrow(a1, b1) * scale, scores + stride + j);
                Vector256.Store(Vector256.Narrow(a2, b2) * scale, scores + 2 * stride + j);
                Vector256.Store(Vector256.Narrow(a3, b3) * scale, scores + 3 * stride + j);
            }
        }
    }

    /// <summary>
    /// ggml_vec_soft_max_f32 over the first <paramref name="n"/> scores (eight-lane exp, each
    /// vector's sum added in double), then the F16 rounding of the product with the values; the
    /// masked positions up to <paramref name="width"/> become exact zeros.
    /// </summary>
    private static void Softmax(float* p, int n, int width)
    {
        float max = float.NegativeInfinity;
        for (int j = 0; j < n; j++) max = MathF.Max(max, p[j]);
        var vmax = Vector256.Create(max);
        double sum = 0;
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var e = VectorMath.Exp(Vector256.Load(p + i) - vmax);
            Vector256.Store(e, p + i);
            sum += VecDot256.HorizontalSum(e);
        }

        for (; i < n; i++)
        {
            float e = MathF.Exp(p[i] - max);
            p[i] = e;
            sum += e;
        }

        var inv = Vector256.Create((float)(1.0 / sum));
        for (i = 0; i + 8 <= n; i += 8) Vector256.Store(VectorMath.RoundToHalf(Vector256.Load(p + i) * inv), p + i);
        for (; i < n; i++) p[i] = Fp16.Round(p[i] * inv[0]);
        for (; i < width; i++) p[i] = 0;
    }

    /// <summary>out_i = Σ_j p_i[j] · v_j, eight dimensions at a time; only the first <paramref name="m"/> outputs are stored.</summary>
    private void Weigh<TW>(float* p, int stride, int keys, BlockTable table, int offset, int hd, float* output, int outStride, int m)
        where TW : struct, IWidth
    {
        int kv = c.KvDim;
        float* p0 = p, p1 = p + stride, p2 = p + 2 * stride, p3 = p + 3 * stride;
        for (int d = 0; d < hd; d += 8)
        {
            Vector256<float> o0 = default, o1 = default, o2 = default, o3 = default;
            for (int j0 = 0; j0 < keys; j0 += B)
            {
                float* vj = _cache.Values(table[j0 / B], _layer) + offset + d;
                for (int j = j0; j < Math.Min(keys, j0 + B); j++, vj += kv)
                {
                    var x = Vector256.Load(vj);
                    o0 = Vector256.FusedMultiplyAdd(Vector256.Create(p0[j]), x, o0);
                    if (TW.Queries > 1)
                    {
                        o1 = Vector256.FusedMultiplyAdd(Vector256.Create(p1[j]), x, o1);
                        o2 = Vector256.FusedMultiplyAdd(Vector256.Create(p2[j]), x, o2);
                        o3 = Vector256.FusedMultiplyAdd(Vector256.Create(p3[j]), x, o3);
                    }
                }
            }

            Vector256.Store(o0, output + d);
            if (TW.Queries > 1)
            {
                if (m > 1) Vector256.Store(o1, output + outStride + d);
                if (m > 2) Vector256.Store(o2, output + 2 * outStride + d);
                if (m > 3) Vector256.Store(o3, output + 3 * outStride + d);
            }
        }
    }
}
