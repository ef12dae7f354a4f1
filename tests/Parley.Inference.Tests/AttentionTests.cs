using Parley.Inference.Models;
using Parley.Inference.Tensors;

namespace Parley.Inference.Tests;

/// <summary>
/// Attention against plain softmax(q·k/√d)·v in double, for head sizes the test models do not have:
/// real models use 64 or 128, which take ggml's 64-lane vector dot (and its leftovers from 80 on),
/// while the reference outputs only cover heads of 16 and 32. The engine rounds probabilities to F16
/// as ggml does, so the two agree to about 1e-3, far closer than any mix-up of lanes, blocks, heads
/// or positions would leave them. A Q8_0 cache is held to the same bound against the same sum over the
/// values it stores (each 32 of a position's head quantized as ggml's quantize_row_q8_0 does).
/// </summary>
public unsafe class AttentionTests
{
    [Theory]
    [InlineData(64, 1, 200)] // decode: ggml_vec_dot_f16 over 64 lanes
    [InlineData(128, 1, 37)]
    [InlineData(80, 1, 129)] // 64 lanes plus 16 leftovers in double
    [InlineData(32, 1, 70)] // all leftovers in double
    [InlineData(64, 6, 90)] // a prompt chunk: tinyBLAS's 16 lanes, causal
    [InlineData(128, 3, 17)]
    [InlineData(16, 5, 40)]
    [InlineData(64, 1, 200, GgmlType.Q8_0)]
    [InlineData(128, 3, 37, GgmlType.Q8_0)]
    [InlineData(32, 1, 70, GgmlType.Q8_0, GgmlType.F16)]
    [InlineData(64, 6, 90, GgmlType.F16, GgmlType.Q8_0)]
    public void MatchesSoftmaxAttentionInDouble(int headDim, int tokens, int keys, GgmlType keyType = GgmlType.F16, GgmlType valueType = GgmlType.F16)
    {
        var c = new ModelConfig
        {
            Architecture = "llama", EmbeddingLength = 4 * headDim, LayerCount = 2, HeadCount = 4, KvHeadCount = 2, HeadDim = headDim,
            FeedForwardLength = 64, ContextLength = 512, RmsEpsilon = 1e-5f, RopeFreqBase = 10000, RopeFreqScale = 1, RopeDims = headDim, RopeNeoX = false,
        };
        var random = new Random(headDim * 1000 + tokens * 100 + keys);
        float Half() => Fp16.Round((float)(random.NextDouble() * 4 - 2));
        using var pool = new WorkerPool(2);
        using var scratch = new ForwardScratch(c);
        using var cache = new PagedKvCache(c, PagedKvCache.BlocksForPositions(keys) + 1, new KvCacheTypes(keyType, valueType));
        var table = new BlockTable();
        // Blocks out of order, as a paged cache hands them out.
        for (int b = PagedKvCache.BlocksForPositions(keys); b >= 0; b--) table.Add(b);
        var k = new float[keys, c.KvDim];
        var v = new float[keys, c.KvDim];
        var kRow = new float[c.KvDim];
        var vRow = new float[c.KvDim];
        for (int p = 0; p < keys; p++)
        {
            for (int i = 0; i < c.KvDim; i++) (kRow[i], vRow[i]) = (Half(), Half());
            fixed (float* kp = kRow, vp = vRow) cache.Write(table[p / PagedKvCache.BlockSize], p % PagedKvCache.BlockSize, 1, kp, vp);
            var ks = Stored(kRow, keyType);
            var vs = Stored(vRow, valueType);
            for (int i = 0; i < c.KvDim; i++) (k[p, i], v[p, i]) = (ks[i], vs[i]);
        }

        var batch = new ForwardBatch();
        batch.Add(new int[tokens], keys - tokens, table, logits: false);
        scratch.Ensure(tokens, pool.Threads, c.ContextLength);
        for (int t = 0; t < tokens; t++)
        {
            scratch.Positions[t] = keys - tokens + t;
            for (int i = 0; i < c.QDim; i++) scratch.Q[t * c.QDim + i] = Half();
        }

        var attention = new Attention(c, scratch);
        attention.Prepare(batch, cache, scratch.Positions);
        attention.Run(pool, layer: 1);

        int group = c.HeadCount / c.KvHeadCount;
        double worst = 0;
        for (int t = 0; t < tokens; t++)
        {
            int seen = keys - tokens + t + 1; // causal: its own position and those before
            for (int h = 0; h < c.HeadCount; h++)
            {
                int kv = h / group * headDim;
                var score = new double[seen];
                for (int j = 0; j < seen; j++)
                {
                    double dot = 0;
                    for (int d = 0; d < headDim; d++) dot += (double)scratch.Q[t * c.QDim + h * headDim + d] * k[j, kv + d];
                    score[j] = dot / Math.Sqrt(headDim);
                }

                double max = score.Max(), sum = score.Sum(x => Math.Exp(x - max));
                for (int d = 0; d < headDim; d++)
                {
                    double expected = 0;
                    for (int j = 0; j < seen; j++) expected += Math.Exp(score[j] - max) / sum * v[j, kv + d];
                    worst = Math.Max(worst, Math.Abs(scratch.Attn[t * c.QDim + h * headDim + d] - expected));
                }
            }
        }

        Assert.True(worst < 2e-3, $"largest difference {worst}");
    }

    /// <summary>What the cache holds for a row: the halves themselves, or their Q8_0 round trip (scale amax/127 as F16, quants rounded half away from zero).</summary>
    private static float[] Stored(float[] row, GgmlType type)
    {
        if (type == GgmlType.F16) return row;
        var stored = new float[row.Length];
        for (int g = 0; g < row.Length; g += 32)
        {
            float amax = 0;
            for (int i = g; i < g + 32; i++) amax = MathF.Max(amax, MathF.Abs(row[i]));
            float d = amax / 127, id = d != 0 ? 1 / d : 0, scale = Fp16.Round(d);
            for (int i = g; i < g + 32; i++) stored[i] = MathF.Round(row[i] * id, MidpointRounding.AwayFromZero) * scale;
        }

        return stored;
    }
}
