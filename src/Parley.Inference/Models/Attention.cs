using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Parley.Inference.Tensors;
using Parley.Inference.Tensors.X86;

namespace Parley.Inference.Models;

/// <summary>
/// Causal grouped-query attention of every segment of a batch over its own sequence's paged cache.
/// Numerics follow llama.cpp's CPU backend (AVX-512 build) without flash attention: Q and K meet as
/// F16 (Q is rounded before it gets here), scores are scaled inside an F32 softmax with ggml's
/// vector exp whose sixteen-lane partial sums add up in double, and the probabilities are rounded to
/// F16 before they weight the F16 values. The two products sum as ggml does for the segment's size:
/// a single token (decode) goes through ggml_vec_dot_f16 (64 lanes over the KV length padded to
/// 256, leftovers in double), several (a prompt chunk) through llamafile's tinyBLAS (16 lanes), each
/// lane an FMA chain reduced in _mm512_reduce_add_ps's order (see <see cref="LaneSums"/>).
/// For speed keys are stored transposed in their blocks, so a block's sixteen positions' scores come
/// out of one run of FMAs, and up to four query tokens of one head go through the keys and values together.
/// A decode token's query heads that share a KV head go through its keys together. Threads claim
/// jobs one at a time, so the long causal rows of a prompt's last tokens do not all land on one thread.
/// </summary>
[SkipLocalsInit] // the lane sums' stack scratch (up to 32 KiB a job) is always written before it is read: zeroing it cost 1% of decoding
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

    /// <summary>Scratch floats per thread: two blocks' keys of one head, converted to F32 (<see cref="PagedKvCache.ReadKeys"/>).</summary>
    public static int KeyBlockFloats(int headDim) => 2 * B * headDim;

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
        pool.Run(this, _jobs.Count);
    }

    public void Execute(int participant, int chunk)
    {
        float* scores = s.Scores + (long)participant * ScoresPerThread(_stride);
        double* queries = s.QueriesF64 + (long)participant * QueryTile * c.HeadDim;
        float* keys = s.KeyBlocks + (long)participant * KeyBlockFloats(c.HeadDim);
        var job = _jobs[_jobs.Count - 1 - chunk]; // a prompt's longest rows come last in the list: start them first
        var table = _batch.Segments[job.Segment].Table;
        if (job.M == 1) Tile<One>(table, job, scores, queries, keys);
        else if (job.M == 2) Tile<Two>(table, job, scores, queries, keys);
        else Tile<Four>(table, job, scores, queries, keys);
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

    private readonly struct Two : IWidth
    {
        public static int Queries => 2;
    }

    private readonly struct Four : IWidth
    {
        public static int Queries => 4;
    }

    /// <summary>The job's queries; a width-four tile with three repeats its last query (two go through a width-two tile).</summary>
    private void Tile<TW>(BlockTable table, Job job, float* scores, double* queries, float* keyBlocks) where TW : struct, IWidth
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

        // ggml hands batches of two or more tokens to tinyBLAS, single tokens to its vector dot.
        bool gemm = _batch.Segments[job.Segment].Count >= 2;
        if (gemm) LaneScores<TW>(q, table, kvh * hd, hd, keys, scores, LaneSums.TinyBlas, keyBlocks);
        else if (hd >= LaneSums.VecDot) LaneScores<TW>(q, table, kvh * hd, hd, keys, scores, LaneSums.VecDot, keyBlocks);
        else Scores<TW>(q, queries, table, kvh * hd, hd, keys, scores, keyBlocks);
        for (int i = 0; i < TW.Queries; i++) Softmax(scores + i * stride, n[i], keys);
        float* output = s.Attn + (long)job.T0 * c.QDim + job.H0 * hd;
        int outStride = job.ByHeads ? hd : c.QDim, lanes = gemm ? LaneSums.TinyBlas : LaneSums.VecDot;
        bool wide = Vector512.IsHardwareAccelerated && hd % 32 == 0;
        if (_cache.Types.Values == GgmlType.F16)
        {
            if (wide) Weigh512<TW, F16Values>(scores, stride, keys, table, kvh * hd, hd, output, outStride, m, lanes);
            else Weigh<TW, F16Values>(scores, stride, keys, table, kvh * hd, hd, output, outStride, m, lanes);
        }
        else if (wide) Weigh512<TW, Q8Values>(scores, stride, keys, table, kvh * hd, hd, output, outStride, m, lanes);
        else Weigh<TW, Q8Values>(scores, stride, keys, table, kvh * hd, hd, output, outStride, m, lanes);
    }

    /// <summary>
    /// scores[i][j] = scale · q_i · k_j for j below <paramref name="keys"/>, rounded up to a whole block, for
    /// a decode token with a head smaller than ggml's 64-element vector step: ggml sums it all as
    /// leftovers in double. Products of two halves are exact, and summed in double they stay exact,
    /// so each dot is the correctly rounded one.
    /// </summary>
    private void Scores<TW>(float** q, double* qd, BlockTable table, int offset, int hd, int keys, float* scores, float* keyBlocks) where TW : struct, IWidth
    {
        int stride = _stride;
        // The queries as doubles once per tile: broadcasting them from memory keeps the inner loop free
        // of float-to-double conversions, whose merge into one register chained every step together.
        for (int i = 0; i < TW.Queries; i++)
        {
            for (int d = 0; d < hd; d++) qd[i * hd + d] = q[i][d];
        }

        double* q0 = qd, q1 = qd + hd, q2 = qd + 2 * hd, q3 = qd + 3 * hd;
        var scale = Vector512.Create(_scale);
        int j = 0;
        // One or two queries leave registers for two blocks at once: twice the independent chains, whose FMA latency bounds this loop.
        if (TW.Queries <= 2)
        {
            for (; j + B < keys; j += 2 * B)
            {
                _cache.ReadKeys(table[j / B], _layer, offset, hd, keyBlocks);
                _cache.ReadKeys(table[j / B + 1], _layer, offset, hd, keyBlocks + B * hd);
                TwoBlocks<TW>(q0, q1, keyBlocks, keyBlocks + B * hd, hd, scores + j, stride, scale);
            }
        }

        for (; j < keys; j += B)
        {
            Vector512<double> a0 = default, b0 = default, a1 = default, b1 = default;
            Vector512<double> a2 = default, b2 = default, a3 = default, b3 = default;
            float* k = keyBlocks;
            _cache.ReadKeys(table[j / B], _layer, offset, hd, k);
            for (int d = 0; d < hd; d++, k += B)
            {
                var (lo, hi) = Vector512.Widen(Vector512.Load(k));
                var x = Vector512.Create(q0[d]);
                a0 = Vector512.FusedMultiplyAdd(x, lo, a0);
                b0 = Vector512.FusedMultiplyAdd(x, hi, b0);
                if (TW.Queries > 1)
                {
                    x = Vector512.Create(q1[d]);
                    a1 = Vector512.FusedMultiplyAdd(x, lo, a1);
                    b1 = Vector512.FusedMultiplyAdd(x, hi, b1);
                }

                if (TW.Queries > 2)
                {
                    x = Vector512.Create(q2[d]);
                    a2 = Vector512.FusedMultiplyAdd(x, lo, a2);
                    b2 = Vector512.FusedMultiplyAdd(x, hi, b2);
                    x = Vector512.Create(q3[d]);
                    a3 = Vector512.FusedMultiplyAdd(x, lo, a3);
                    b3 = Vector512.FusedMultiplyAdd(x, hi, b3);
                }
            }

            Vector512.Store(Vector512.Narrow(a0, b0) * scale, scores + j);
            if (TW.Queries > 1) Vector512.Store(Vector512.Narrow(a1, b1) * scale, scores + stride + j);
            if (TW.Queries > 2)
            {
                Vector512.Store(Vector512.Narrow(a2, b2) * scale, scores + 2 * stride + j);
                Vector512.Store(Vector512.Narrow(a3, b3) * scale, scores + 3 * stride + j);
            }
        }
    }

    /// <summary><see cref="Scores{TW}"/> of one or two queries over the sixteen keys of two blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TwoBlocks<TW>(double* q0, double* q1, float* k0, float* k1, int hd, float* scores, int stride, Vector512<float> scale)
        where TW : struct, IWidth
    {
        Vector512<double> a0 = default, b0 = default, c0 = default, d0 = default;
        Vector512<double> a1 = default, b1 = default, c1 = default, d1 = default;
        for (int d = 0; d < hd; d++, k0 += B, k1 += B)
        {
            var (lo0, hi0) = Vector512.Widen(Vector512.Load(k0));
            var (lo1, hi1) = Vector512.Widen(Vector512.Load(k1));
            var x = Vector512.Create(q0[d]);
            a0 = Vector512.FusedMultiplyAdd(x, lo0, a0);
            b0 = Vector512.FusedMultiplyAdd(x, hi0, b0);
            c0 = Vector512.FusedMultiplyAdd(x, lo1, c0);
            d0 = Vector512.FusedMultiplyAdd(x, hi1, d0);
            if (TW.Queries > 1)
            {
                x = Vector512.Create(q1[d]);
                a1 = Vector512.FusedMultiplyAdd(x, lo0, a1);
                b1 = Vector512.FusedMultiplyAdd(x, hi0, b1);
                c1 = Vector512.FusedMultiplyAdd(x, lo1, c1);
                d1 = Vector512.FusedMultiplyAdd(x, hi1, d1);
            }
        }

        Vector512.Store(Vector512.Narrow(a0, b0) * scale, scores);
        Vector512.Store(Vector512.Narrow(c0, d0) * scale, scores + B);
        if (TW.Queries > 1)
        {
            Vector512.Store(Vector512.Narrow(a1, b1) * scale, scores + stride);
            Vector512.Store(Vector512.Narrow(c1, d1) * scale, scores + stride + B);
        }
    }

    /// <summary>
    /// scores[i][j] = scale · q_i · k_j as ggml sums with <paramref name="lanes"/> lanes: dimension d
    /// goes to lane d mod lanes, each lane an FMA chain; the lanes are folded to sixteen and reduced
    /// (<see cref="LaneSums.Reduce"/>); dimensions past the last whole step of 64 (ggml's vector dot
    /// only) are added in double. A block's sixteen keys at a time, one per vector lane.
    /// </summary>
    private void LaneScores<TW>(float** q, BlockTable table, int offset, int hd, int keys, float* scores, int lanes, float* keyBlocks) where TW : struct, IWidth
    {
        int whole = lanes == LaneSums.VecDot ? hd & ~(LaneSums.VecDot - 1) : hd;
        var scale = Vector512.Create(_scale);
        for (int j = 0; j < keys; j += B)
        {
            float* k = keyBlocks;
            _cache.ReadKeys(table[j / B], _layer, offset, hd, k);
            for (int i = 0; i < TW.Queries; i++)
            {
                float* qi = q[i];
                var dot = lanes == LaneSums.VecDot ? LaneSums.Dot64(k, B, qi, whole) : LaneSums.Dot16(k, B, qi, whole);
                if (whole < hd)
                {
                    // ggml's leftovers: each product (exact for halves) added in double.
                    var (lo, hi) = Vector512.Widen(dot);
                    for (int d = whole; d < hd; d++)
                    {
                        var (klo, khi) = Vector512.Widen(Vector512.Load(k + d * B));
                        var x = Vector512.Create((double)qi[d]);
                        lo += klo * x;
                        hi += khi * x;
                    }

                    dot = Vector512.Narrow(lo, hi);
                }

                Vector512.Store(dot * scale, scores + i * _stride + j);
            }
        }
    }

    /// <summary>
    /// ggml_vec_soft_max_f32 (AVX-512) over the first <paramref name="n"/> scores: sixteen exps at a
    /// time, each group's _mm512_reduce_add_ps added in double; past n the row is padded with masked
    /// positions, whose exps are zero, as in llama.cpp's KV length padded to 256. Then the F16
    /// rounding of the product with the values; the masked positions up to <paramref name="width"/>
    /// become exact zeros. Rows hold whole blocks of sixteen, so the last group can be read whole.
    /// </summary>
    private static void Softmax(float* p, int n, int width)
    {
        // The maximum is the same in any order; a scalar chain of MathF.Max took most of the softmax's time.
        var vmax = Vector256.Create(float.NegativeInfinity);
        int j = 0;
        for (; j + 8 <= n; j += 8) vmax = Vector256.Max(vmax, Vector256.Load(p + j));
        float max = float.NegativeInfinity;
        for (int l = 0; l < 8; l++) max = MathF.Max(max, vmax[l]);
        for (; j < n; j++) max = MathF.Max(max, p[j]);
        vmax = Vector256.Create(max);
        var index = Vector256.Create(0f, 1, 2, 3, 4, 5, 6, 7);
        double sum = 0;
        for (int i = 0; i < n; i += 16)
        {
            var e0 = VectorMath.Exp(Vector256.Load(p + i) - vmax);
            var e1 = VectorMath.Exp(Vector256.Load(p + i + 8) - vmax);
            if (i + 16 > n)
            {
                e0 = Vector256.ConditionalSelect(Vector256.LessThan(index + Vector256.Create((float)i), Vector256.Create((float)n)), e0, default);
                e1 = Vector256.ConditionalSelect(Vector256.LessThan(index + Vector256.Create((float)(i + 8)), Vector256.Create((float)n)), e1, default);
            }

            Vector256.Store(e0, p + i);
            Vector256.Store(e1, p + i + 8);
            sum += VecDot256.HorizontalSum(e0 + e1); // the order of _mm512_reduce_add_ps
        }

        var inv = Vector256.Create((float)(1.0 / sum));
        int k = 0;
        for (; k + 8 <= n; k += 8) Vector256.Store(VectorMath.RoundToHalf(Vector256.Load(p + k) * inv), p + k);
        for (; k < n; k++) p[k] = Fp16.Round(p[k] * inv[0]);
        for (; k < width; k++) p[k] = 0;
    }

    /// <summary>
    /// out_i = Σ_j p_i[j] · v_j as ggml sums it with <paramref name="lanes"/> lanes over the keys: key
    /// j goes to lane j mod lanes, each lane an FMA chain, then the lanes are reduced
    /// (<see cref="LaneSums.Reduce"/>). Eight dimensions at a time; the tile's queries share each
    /// value load. Only the first <paramref name="m"/> outputs are stored.
    /// </summary>
    private void Weigh<TW, TV>(float* p, int stride, int keys, BlockTable table, int offset, int hd, float* output, int outStride, int m, int lanes)
        where TW : struct, IWidth where TV : struct, IValueFormat
    {
        var sums = stackalloc Vector256<float>[QueryTile * LaneSums.VecDot];
        // Each block's values once: a lane walks the blocks at one slot (lanes are whole multiples of the block size).
        int blocks = (keys + B - 1) / B;
        var values = stackalloc nint[2 * blocks];
        nint* scales = values + blocks;
        for (int b = 0; b < blocks; b++) (values[b], scales[b]) = _cache.ValueHead(table[b], _layer, offset);
        float* p0 = p, p1 = p + stride, p2 = p + 2 * stride, p3 = p + 3 * stride;
        int step = lanes / B;
        for (int d = 0; d < hd; d += 8)
        {
            for (int l = 0; l < lanes; l++)
            {
                Vector256<float> o0 = default, o1 = default, o2 = default, o3 = default;
                int slot = (l % B) * hd + d;
                for (int j = l, b = l / B; j < keys; j += lanes, b += step)
                {
                    var x = TV.Load8(values[b], scales[b], slot);
                    o0 = Vector256.FusedMultiplyAdd(Vector256.Create(p0[j]), x, o0);
                    if (TW.Queries > 1) o1 = Vector256.FusedMultiplyAdd(Vector256.Create(p1[j]), x, o1);
                    if (TW.Queries > 2)
                    {
                        o2 = Vector256.FusedMultiplyAdd(Vector256.Create(p2[j]), x, o2);
                        o3 = Vector256.FusedMultiplyAdd(Vector256.Create(p3[j]), x, o3);
                    }
                }

                sums[l] = o0;
                if (TW.Queries > 1) sums[lanes + l] = o1;
                if (TW.Queries > 2)
                {
                    sums[2 * lanes + l] = o2;
                    sums[3 * lanes + l] = o3;
                }
            }

            for (int i = 0; i < Math.Min(TW.Queries, m); i++) Vector256.Store(LaneSums.Reduce(sums + i * lanes, lanes), output + i * outStride + d);
        }
    }

    /// <summary>
    /// <see cref="Weigh{TW, TV}"/> for heads a multiple of 32 on AVX-512: a lane's chain carries 32
    /// dimensions (two vectors) per query, so with decode's short chains (a few keys per lane of 64)
    /// four times fewer chains pay their loop and reduction overhead. Each element's additions are
    /// the same, in the same order: the bits are too.
    /// </summary>
    private void Weigh512<TW, TV>(float* p, int stride, int keys, BlockTable table, int offset, int hd, float* output, int outStride, int m, int lanes)
        where TW : struct, IWidth where TV : struct, IValueFormat
    {
        var sums = stackalloc Vector512<float>[2 * QueryTile * LaneSums.VecDot];
        int blocks = (keys + B - 1) / B;
        var values = stackalloc nint[2 * blocks];
        nint* scales = values + blocks;
        for (int b = 0; b < blocks; b++) (values[b], scales[b]) = _cache.ValueHead(table[b], _layer, offset);
        float* p0 = p, p1 = p + stride, p2 = p + 2 * stride, p3 = p + 3 * stride;
        int step = lanes / B, half = QueryTile * lanes;
        for (int d = 0; d < hd; d += 32)
        {
            for (int l = 0; l < lanes; l++)
            {
                Vector512<float> o0 = default, o1 = default, o2 = default, o3 = default;
                Vector512<float> r0 = default, r1 = default, r2 = default, r3 = default;
                int slot = (l % B) * hd + d;
                for (int j = l, b = l / B; j < keys; j += lanes, b += step)
                {
                    var x = TV.Load16(values[b], scales[b], slot);
                    var y = TV.Load16(values[b], scales[b], slot + 16);
                    var w = Vector512.Create(p0[j]);
                    o0 = Vector512.FusedMultiplyAdd(w, x, o0);
                    r0 = Vector512.FusedMultiplyAdd(w, y, r0);
                    if (TW.Queries > 1)
                    {
                        w = Vector512.Create(p1[j]);
                        o1 = Vector512.FusedMultiplyAdd(w, x, o1);
                        r1 = Vector512.FusedMultiplyAdd(w, y, r1);
                    }

                    if (TW.Queries > 2)
                    {
                        w = Vector512.Create(p2[j]);
                        o2 = Vector512.FusedMultiplyAdd(w, x, o2);
                        r2 = Vector512.FusedMultiplyAdd(w, y, r2);
                        w = Vector512.Create(p3[j]);
                        o3 = Vector512.FusedMultiplyAdd(w, x, o3);
                        r3 = Vector512.FusedMultiplyAdd(w, y, r3);
                    }
                }

                sums[l] = o0;
                sums[half + l] = r0;
                if (TW.Queries > 1)
                {
                    sums[lanes + l] = o1;
                    sums[half + lanes + l] = r1;
                }

                if (TW.Queries > 2)
                {
                    sums[2 * lanes + l] = o2;
                    sums[3 * lanes + l] = o3;
                    sums[half + 2 * lanes + l] = r2;
                    sums[half + 3 * lanes + l] = r3;
                }
            }

            for (int i = 0; i < Math.Min(TW.Queries, m); i++)
            {
                Vector512.Store(LaneSums.Reduce(sums + i * lanes, lanes), output + i * outStride + d);
                Vector512.Store(LaneSums.Reduce(sums + half + i * lanes, lanes), output + i * outStride + d + 16);
            }
        }
    }
}

/// <summary>
/// How ggml's AVX-512 kernels add up a dot product: lane l of a vector accumulator (an FMA chain)
/// takes elements l, l + lanes, l + 2·lanes, …; tinyBLAS uses one 16-lane accumulator, the vector
/// dot four of them (64 lanes, folded 0+2, 1+3, then 0+1); the last sixteen lanes are reduced as
/// _mm512_reduce_add_ps does (upper half plus lower half, down to one).
/// </summary>
[SkipLocalsInit]
internal static class LaneSums
{
    public const int TinyBlas = 16;
    public const int VecDot = 64;

    /// <summary>Σ_d a[d·stride] · x[d] over d below <paramref name="n"/> (a multiple of 16), for sixteen columns of <paramref name="a"/> at once, in 16 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<float> Dot16(float* a, int stride, float* x, int n)
    {
        var u0 = (Chain(a, stride, x, 12, TinyBlas, n) + Chain(a, stride, x, 4, TinyBlas, n)) + (Chain(a, stride, x, 8, TinyBlas, n) + Chain(a, stride, x, 0, TinyBlas, n));
        var u1 = (Chain(a, stride, x, 13, TinyBlas, n) + Chain(a, stride, x, 5, TinyBlas, n)) + (Chain(a, stride, x, 9, TinyBlas, n) + Chain(a, stride, x, 1, TinyBlas, n));
        var u2 = (Chain(a, stride, x, 14, TinyBlas, n) + Chain(a, stride, x, 6, TinyBlas, n)) + (Chain(a, stride, x, 10, TinyBlas, n) + Chain(a, stride, x, 2, TinyBlas, n));
        var u3 = (Chain(a, stride, x, 15, TinyBlas, n) + Chain(a, stride, x, 7, TinyBlas, n)) + (Chain(a, stride, x, 11, TinyBlas, n) + Chain(a, stride, x, 3, TinyBlas, n));
        return (u0 + u2) + (u1 + u3);
    }

    /// <summary>The same in 64 lanes (n a multiple of 64), folded to 16 as ggml's vector dot does (0+2, 1+3, then 0+1 of its four accumulators).</summary>
    public static unsafe Vector512<float> Dot64(float* a, int stride, float* x, int n)
    {
        var y = stackalloc Vector512<float>[TinyBlas];
        for (int l = 0; l < TinyBlas; l++)
        {
            y[l] = Fold(Chain(a, stride, x, l, VecDot, n), Chain(a, stride, x, 16 + l, VecDot, n), Chain(a, stride, x, 32 + l, VecDot, n), Chain(a, stride, x, 48 + l, VecDot, n));
        }

        return Reduce(y, TinyBlas);
    }

    /// <summary>ggml's fold of its four 16-lane accumulators into one: 0+2, 1+3, then the two.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Fold(Vector512<float> x0, Vector512<float> x1, Vector512<float> x2, Vector512<float> x3) => (x0 + x2) + (x1 + x3);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fold(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3) => (x0 + x2) + (x1 + x3);

    /// <summary>Lane l's FMA chain: elements l, l + step, … below n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<float> Chain(float* a, int stride, float* x, int l, int step, int n)
    {
        var acc = Vector512<float>.Zero;
        for (int d = l; d < n; d += step) acc = Vector512.FusedMultiplyAdd(Vector512.Load(a + d * stride), Vector512.Create(x[d]), acc);
        return acc;
    }

    /// <summary><see cref="Reduce(Vector256{float}*, int)"/> for vectors of sixteen results.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<float> Reduce(Vector512<float>* sums, int lanes)
    {
        if (lanes == VecDot)
        {
            for (int l = 0; l < TinyBlas; l++) sums[l] = Fold(sums[l], sums[16 + l], sums[32 + l], sums[48 + l]);
        }

        var u0 = (sums[12] + sums[4]) + (sums[8] + sums[0]);
        var u1 = (sums[13] + sums[5]) + (sums[9] + sums[1]);
        var u2 = (sums[14] + sums[6]) + (sums[10] + sums[2]);
        var u3 = (sums[15] + sums[7]) + (sums[11] + sums[3]);
        return (u0 + u2) + (u1 + u3);
    }

    /// <summary>Reduces <paramref name="lanes"/> partial sums (each a vector of eight independent results); 64 are first folded to 16 in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector256<float> Reduce(Vector256<float>* sums, int lanes)
    {
        if (lanes == VecDot)
        {
            for (int l = 0; l < TinyBlas; l++) sums[l] = Fold(sums[l], sums[16 + l], sums[32 + l], sums[48 + l]);
        }

        var u0 = (sums[12] + sums[4]) + (sums[8] + sums[0]);
        var u1 = (sums[13] + sums[5]) + (sums[9] + sums[1]);
        var u2 = (sums[14] + sums[6]) + (sums[10] + sums[2]);
        var u3 = (sums[15] + sums[7]) + (sums[11] + sums[3]);
        return (u0 + u2) + (u1 + u3);
    }
}
