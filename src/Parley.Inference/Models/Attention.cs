using System.Runtime.Intrinsics;
using Parley.Inference.Tensors;

namespace Parley.Inference.Models;

/// <summary>
/// Causal grouped-query attention over one sequence's cache. Numerics follow llama.cpp without
/// flash attention: Q and K meet as F16 (Q is rounded before it gets here), scores are scaled inside
/// an F32 softmax with ggml's vector exp and a double sum, and the probabilities are rounded to F16
/// before they weight the F16 values.
/// For speed the layer's keys are transposed to F32 [kv head][dim][position], so eight positions'
/// scores come out of one run of FMAs, and up to four query tokens of one head go through the keys
/// and values together. Jobs (query tile × head) are dealt round-robin so that the long causal rows
/// of a prompt's last tokens do not all land on one thread.
/// </summary>
internal sealed unsafe class Attention(ModelConfig c, ForwardScratch s) : IParallelWork
{
    public const int QueryTile = 4;

    private readonly float _scale = 1.0f / MathF.Sqrt(c.HeadDim);
    private int _batch;
    private int* _positions;
    private int _stride;

    /// <summary>Scratch floats per thread: one score row per query of a tile.</summary>
    public static int ScoresPerThread(int context) => QueryTile * Stride(context);

    /// <summary>Key rows are padded to whole vectors so score loops never need a tail.</summary>
    public static int Stride(int context) => (context + 7) & ~7;

    /// <summary>Attends <paramref name="batch"/> queries in s.Q (positions given) to the first <paramref name="keys"/> positions of <paramref name="layer"/>.</summary>
    public void Run(WorkerPool pool, KvCache cache, int layer, int batch, int* positions, int keys)
    {
        _batch = batch;
        _positions = positions;
        _stride = Stride(keys);
        LoadKeysAndValues(cache, layer, keys);
        pool.Run(this);
    }

    private void LoadKeysAndValues(KvCache cache, int layer, int keys)
    {
        int kv = c.KvDim, stride = _stride;
        Ops.HalfToFloat(cache.V(layer, 0), s.ValuesF32, keys * kv);
        float* row = s.KeysF32 + (long)kv * stride; // a spare row past the transposed block
        for (int j = 0; j < keys; j++)
        {
            Ops.HalfToFloat(cache.K(layer, j), row, kv);
            for (int i = 0; i < kv; i++) s.KeysF32[(long)i * stride + j] = row[i];
        }
    }

    public void Execute(int index, int count)
    {
        int heads = c.HeadCount;
        int tiles = (_batch + QueryTile - 1) / QueryTile;
        float* scores = s.Scores + (long)index * ScoresPerThread(_stride);
        for (int job = index; job < tiles * heads; job += count)
        {
            int t0 = job / heads * QueryTile, h = job % heads;
            if (_batch - t0 >= QueryTile) Tile<Four>(t0, QueryTile, h, scores);
            else if (_batch - t0 == 1) Tile<One>(t0, 1, h, scores);
            else Tile<Four>(t0, _batch - t0, h, scores);
        }
    }

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

    /// <summary>Queries t0..t0+m-1 of head h; a width-four tile with m &lt; 4 repeats its last query.</summary>
    private void Tile<TW>(int t0, int m, int h, float* scores) where TW : struct, IWidth
    {
        int hd = c.HeadDim, stride = _stride;
        int kvh = h / (c.HeadCount / c.KvHeadCount);
        var q = stackalloc float*[QueryTile];
        var n = stackalloc int[QueryTile];
        int keys = 0;
        for (int i = 0; i < QueryTile; i++)
        {
            int t = t0 + Math.Min(i, m - 1);
            q[i] = s.Q + (long)t * c.QDim + h * hd;
            n[i] = _positions[t] + 1;
            keys = Math.Max(keys, n[i]);
        }

        Scores<TW>(q, s.KeysF32 + (long)kvh * hd * stride, hd, stride, keys, scores);
        for (int i = 0; i < TW.Queries; i++) Softmax(scores + i * stride, n[i], keys);
        Weigh<TW>(scores, stride, keys, s.ValuesF32 + kvh * hd, c.KvDim, hd, s.Attn + (long)t0 * c.QDim + h * hd, c.QDim, m);
    }

    /// <summary>
    /// scores[i][j] = scale · q_i · k_j for j below <paramref name="keys"/>, rounded up to eight.
    /// Products of two halves are exact, and summed in double they stay exact, so each dot is the
    /// correctly rounded one, which is what ggml's F16 dot gives for head sizes below its vector
    /// step (its leftovers are summed in double) and within an ulp of it above.
    /// </summary>
    private void Scores<TW>(float** q, float* kt, int hd, int stride, int keys, float* scores) where TW : struct, IWidth
    {
        var scale = Vector256.Create(_scale);
        float* q0 = q[0], q1 = q[1], q2 = q[2], q3 = q[3];
        for (int j = 0; j < keys; j += 8)
        {
            Vector256<double> a0 = default, b0 = default, a1 = default, b1 = default;
            Vector256<double> a2 = default, b2 = default, a3 = default, b3 = default;
            float* k = kt + j;
            for (int d = 0; d < hd; d++, k += stride)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Load(k));
                var x = Vector256.Create((double)q0[d]);
                a0 = Vector256.FusedMultiplyAdd(x, lo, a0);
                b0 = Vector256.FusedMultiplyAdd(x, hi, b0);
                if (TW.Queries > 1)
                {
                    x = Vector256.Create((double)q1[d]);
                    a1 = Vector256.FusedMultiplyAdd(x, lo, a1);
                    b1 = Vector256.FusedMultiplyAdd(x, hi, b1);
                    x = Vector256.Create((double)q2[d]);
                    a2 = Vector256.FusedMultiplyAdd(x, lo, a2);
                    b2 = Vector256.FusedMultiplyAdd(x, hi, b2);
                    x = Vector256.Create((double)q3[d]);
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
    private static void Weigh<TW>(float* p, int stride, int keys, float* v, int vStride, int hd, float* output, int outStride, int m)
        where TW : struct, IWidth
    {
        float* p0 = p, p1 = p + stride, p2 = p + 2 * stride, p3 = p + 3 * stride;
        for (int d = 0; d < hd; d += 8)
        {
            Vector256<float> o0 = default, o1 = default, o2 = default, o3 = default;
            float* vj = v + d;
            for (int j = 0; j < keys; j++, vj += vStride)
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
